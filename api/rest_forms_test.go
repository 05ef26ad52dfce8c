package api

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"testing"
)

const formType = "application/x-www-form-urlencoded"

// A client that posted HTML forms to the original (DRF) service keeps
// working: form-encoded and multipart bodies are read like JSON objects,
// every field a string.
func TestFormBodies(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	email := uniqueEmail("form")
	reg := url.Values{"email": {email}, "password1": {testPassword}, "password2": {testPassword}, "nickname": {"폼 사용자"}}
	r := ts.do(t, req{Method: "POST", Path: "/user/v1/register/", Body: reg.Encode(), Header: map[string]string{"Content-Type": formType}})
	expectStatus(t, r, http.StatusCreated)
	if got := r.object(t)["nickname"]; got != "폼 사용자" {
		t.Errorf("nickname %v", got)
	}

	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("email", email)
	_ = w.WriteField("password", testPassword)
	_ = w.Close()
	r = ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: mp.Bytes(), Header: map[string]string{"Content-Type": w.FormDataContentType()}})
	expectStatus(t, r, http.StatusOK)
	access, _ := r.object(t)["access"].(string)
	if access == "" {
		t.Fatalf("multipart login: %s", r.Body)
	}

	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: access, Body: "name=form+room&post=77", Header: map[string]string{"Content-Type": formType}})
	expectStatus(t, r, http.StatusCreated)
	room := int64(r.object(t)["id"].(float64))
	if post := r.object(t)["post"]; post != float64(77) {
		t.Errorf("post %v, want 77", post)
	}
	msg := url.Values{"room": {strconv.FormatInt(room, 10)}, "message": {"a & b = c"}}
	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: access, Body: msg.Encode(), Header: map[string]string{"Content-Type": formType}})
	expectStatus(t, r, http.StatusCreated)
	if got := r.object(t)["message"]; got != "a & b = c" {
		t.Errorf("message %q", got)
	}

	// Field errors have the same shape as with JSON.
	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: access, Body: "room=abc", Header: map[string]string{"Content-Type": formType}})
	expectBody(t, r, http.StatusBadRequest, `{"message":["This field is required."],"room":["Incorrect type. Expected pk value, received str."]}`)
	// A JSON body labelled as a form (curl -d) is still JSON.
	r = ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: `{"email":"` + email + `","password":"` + testPassword + `"}`, Header: map[string]string{"Content-Type": formType}})
	expectStatus(t, r, http.StatusOK)
	// A picture upload is refused as a field error, the rest untouched.
	mp.Reset()
	w = multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("profile_picture", "me.jpg")
	_, _ = fw.Write([]byte{0xff, 0xd8, 0xff})
	_ = w.Close()
	r = ts.do(t, req{Method: "PATCH", Path: "/user/v1/profile/", Token: access, Body: mp.Bytes(), Header: map[string]string{"Content-Type": w.FormDataContentType()}})
	expectStatus(t, r, http.StatusBadRequest)
	if _, ok := r.object(t)["profile_picture"]; !ok {
		t.Errorf("picture upload: %s, want a profile_picture error", r.Body)
	}
	// Bytes that are not UTF-8 are a 400, never stored mangled.
	r = ts.do(t, req{Method: "POST", Path: "/chat/v1/message/", Token: access, Body: "room=1&message=%FF%FE", Header: map[string]string{"Content-Type": formType}})
	expectStatus(t, r, http.StatusBadRequest)
	// A broken multipart body is a 400, not a 500.
	r = ts.do(t, req{Method: "POST", Path: "/user/v1/login/", Body: "--x\r\nbroken", Header: map[string]string{"Content-Type": "multipart/form-data; boundary=x"}})
	expectStatus(t, r, http.StatusBadRequest)
}

// A list field in an HTML form is every value of its key, as DRF's getlist
// reads it: members=1&members=2 names two users, members=1 one.
func TestFormListField(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t)
	a, b, c := ts.newUser(t), ts.newUser(t), ts.newUser(t)
	for _, tc := range []struct {
		members []int64
		want    float64
	}{
		{[]int64{b.ID, c.ID, b.ID}, 3},
		{[]int64{b.ID}, 2},
	} {
		form := url.Values{"name": {"form list"}, "kind": {"private"}}
		for _, id := range tc.members {
			form.Add("members", strconv.FormatInt(id, 10))
		}
		r := ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: a.Access, Body: form.Encode(), Header: map[string]string{"Content-Type": formType}})
		expectStatus(t, r, http.StatusCreated)
		if got := r.object(t)["member_count"]; got != tc.want {
			t.Errorf("members %v: member_count %v, want %v", tc.members, got, tc.want)
		}
	}
	r := ts.do(t, req{Method: "POST", Path: "/chat/v1/room/", Token: a.Access, Body: "name=x&members=" + strconv.FormatInt(b.ID, 10) + "&members=zz", Header: map[string]string{"Content-Type": formType}})
	expectBody(t, r, http.StatusBadRequest, `{"members":["Incorrect type. Expected pk value, received str."]}`)
}
