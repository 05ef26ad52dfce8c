package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// formSeeds are real request bodies of PROTOCOL.md, and near misses.
var formSeeds = []string{
	`{"email":"user@example.com","password1":"correct-horse","password2":"correct-horse","nickname":"사용자명"}`,
	`{"email":"user@example.com","password":"correct-horse"}`,
	`{"refresh":"eyJhbGciOiJIUzI1NiJ9.e30.sig"}`,
	`{"nickname":"😀🎉","profile_picture":null}`,
	`{"name":"중고 자전거","post":7}`, `{"name":"x","post":"8"}`, `{"name":"x","post":1e30}`, `{"name":"x","post":-1}`,
	`{"message":"안녕하세요!","room":1}`, `{"message":"hi","room":"abc","client_id":"c-1"}`, `{"room":1.0,"message":12}`,
	`{}`, ``, `  `, `[]`, `null`, `"str"`, `123`, `true`, `{`, `{"a":}`, `{"a":1}x`, "{\"message\":\"\xff\"}",
	`{"post":9223372036854775807}`, `{"post":9223372036854775808}`, `{"post":"  12  "}`, `{"post":"0x1p4"}`, `{"post":NaN}`,
	`{"name":{"nested":[1,{"x":null}]}}`, `{"name":"a","name":"b"}`,
}

// FuzzDecodeForm runs a body through decodeForm and every field reader
// the handlers use. Nothing panics; accepted values obey their rules; a
// rejected body is a 400 with a JSON-encodable answer.
func FuzzDecodeForm(f *testing.F) {
	for _, s := range formSeeds {
		f.Add([]byte(s), 20)
	}
	f.Fuzz(func(t *testing.T, body []byte, maxChars int) {
		maxChars = max(0, min(maxChars, 5000))
		fm, err := decodeForm(body)
		if err != nil {
			checkFormError(t, body, err)
			return
		}
		if fm == nil || fm.raw == nil {
			t.Fatalf("decodeForm(%q) returned no form and no error", body)
		}
		if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && (trimmed[0] != '{' || !json.Valid(trimmed)) {
			t.Fatalf("decodeForm accepted %q, which is not a JSON object", body)
		}
		names := []string{"email", "password1", "nickname", "name", "post", "room", "message", "client_id", "refresh", "missing"}
		for name := range fm.raw {
			names = append(names, name)
		}
		for _, name := range names {
			for _, rule := range []strRule{
				{required: true, trim: true, maxChars: maxChars},
				{required: true},
				{allowBlank: true, maxChars: maxChars},
			} {
				checkStr(t, fm, name, rule)
			}
			checkPositiveInt(t, fm, name)
			if raw, ok := fm.raw[name]; ok {
				checkIntValue(t, raw)
			}
		}
		if err := fm.err(); err != nil {
			checkFormError(t, body, err)
		}
	})
}

// checkFormError checks that err is a 400 that renders as JSON.
func checkFormError(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || httpStatus[e.Code] != 400 {
		t.Fatalf("body %q: error %v is not a 400 *Error", body, err)
	}
	var out []byte
	if e.Fields != nil {
		out, err = json.Marshal(e.Fields)
	} else {
		out, err = json.Marshal(errorBody{Detail: e.Detail})
	}
	if err != nil || !json.Valid(out) {
		t.Fatalf("body %q: error does not encode: %v", body, err)
	}
}

func checkStr(t *testing.T, fm *form, name string, r strRule) {
	t.Helper()
	before := len(fm.errs[name])
	s := fm.str(name, r)
	added := len(fm.errs[name]) > before
	raw, present := fm.raw[name]
	switch {
	case added && s != "":
		t.Fatalf("%s: str returned %q and an error %v", name, s, fm.errs[name])
	case added:
		return
	case s == "" && present && string(raw) != "null" && !r.allowBlank:
		t.Fatalf("%s = %s: str returned \"\" without an error", name, raw)
	case s == "" && (!present || string(raw) == "null") && r.required:
		t.Fatalf("%s missing or null: no error though required", name)
	}
	if r.maxChars > 0 && utf8.RuneCountInString(s) > r.maxChars {
		t.Fatalf("%s: %q is over %d characters", name, s, r.maxChars)
	}
	if r.trim && s != strings.TrimSpace(s) {
		t.Fatalf("%s: %q is not trimmed", name, s)
	}
	if !r.allowBlank && s != "" && strings.TrimSpace(s) == "" {
		t.Fatalf("%s: blank %q accepted", name, s)
	}
	if s != "" && !utf8.ValidString(s) {
		t.Fatalf("%s: %q is not valid UTF-8", name, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		t.Fatalf("%s: %q has a null character", name, s)
	}
	if _, lone := loneSurrogate(raw); lone && len(raw) > 0 && raw[0] == '"' {
		t.Fatalf("%s = %s: a lone surrogate was accepted as %q", name, raw, s)
	}
}

func checkPositiveInt(t *testing.T, fm *form, name string) {
	t.Helper()
	before := len(fm.errs[name])
	v := fm.positiveInt(name, false)
	added := len(fm.errs[name]) > before
	raw, present := fm.raw[name]
	switch {
	case v < 0:
		t.Fatalf("%s = %s: positiveInt returned %d", name, raw, v)
	case v > 0 && added:
		t.Fatalf("%s = %s: value %d and an error", name, raw, v)
	case v == 0 && present && string(raw) != "null" && !added:
		t.Fatalf("%s = %s: 0 without an error", name, raw)
	}
}

// drfIntText is the text DRF's IntegerField reads from a string: an
// integer, with at most a ".0" after it.
var drfIntText = regexp.MustCompile(`^[+-]?[0-9]+(\.0*)?$`)

// checkIntValue: every integral number in range is read, and what is read
// is the number given.
func checkIntValue(t *testing.T, raw json.RawMessage) {
	t.Helper()
	v, ok := intValue(raw)
	text := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			if ok {
				t.Fatalf("intValue(%s) read %d from an invalid string", raw, v)
			}
			return
		}
		text = strings.TrimSpace(s)
		if !drfIntText.MatchString(text) { // an exponent or a fraction: DRF's int() refuses it
			if ok {
				t.Fatalf("intValue(%s) read %d from text that is not an integer", raw, v)
			}
			return
		}
	}
	fl, err := strconv.ParseFloat(text, 64)
	if ok && (err != nil || fl != float64(v)) {
		t.Fatalf("intValue(%s) = %d, but the text is %q", raw, v, text)
	}
	if !ok && err == nil && fl == math.Trunc(fl) && math.Abs(fl) < 1<<62 {
		t.Fatalf("intValue(%s) refused the integer %v", raw, fl)
	}
}

// inboundSeeds are real client frames, and broken ones.
var inboundSeeds = []string{
	`{"type":"chat.message","message":"안녕하세요!"}`,
	`{"type":"chat.message","message":"hi","client_id":"4f1c-2"}`,
	`{"type":"chat.message","message":"hi","client_id":null}`,
	`{"type":"chat.message","message":"  "}`, `{"type":"chat.message","message":""}`, `{"type":"chat.message"}`,
	`{"type":"chat.message","message":12}`, `{"type":"chat.message","message":null}`, `{"type":"chat.typing"}`,
	`{"type":"chat.typing","typing":false}`, `{"type":"chat.typing","typing":"yes"}`, `{"type":"chat.typing","typing":null}`,
	`{"type":1,"message":"x"}`, `{"message":"x"}`, `[]`, `"x"`, `not json`, ``, `{"type":"chat.message","message":"\ud800"}`,
	"{\"type\":\"chat.message\",\"message\":\"\xff\xfe\"}", `{"type":"chat.message","message":"x","client_id":7}`,
	`{"TYPE":"chat.message","Message":"case"}`, `{"type":"chat.message","message":"a","type":"other"}`,
}

// FuzzParseInbound checks the socket's frame validation: no panic; a frame
// is either accepted with a valid message or refused with a reason, never
// both; accepted text obeys the limits and is valid UTF-8.
func FuzzParseInbound(f *testing.F) {
	for _, s := range inboundSeeds {
		f.Add([]byte(s), 4096)
	}
	f.Add([]byte(`{"type":"chat.message","message":"`+strings.Repeat("가", 11)+`"}`), 10)
	f.Add([]byte(`{"type":"chat.message","message":"x","client_id":"`+strings.Repeat("c", 65)+`"}`), 10)
	f.Fuzz(func(t *testing.T, data []byte, maxChars int) {
		maxChars = max(1, min(maxChars, 5000))
		in := parseInbound(data, maxChars)
		text, clientID, problem := in.text, in.clientID, in.problem
		if problem != "" {
			if text != "" || clientID != "" || in.token != "" || in.kind != "" || in.typing {
				t.Fatalf("%q refused (%s) but returned %q, %q", data, problem, text, clientID)
			}
			if !utf8.ValidString(problem) || len(problem) > 1000 {
				t.Fatalf("reason %q is not short valid UTF-8", problem)
			}
			return
		}
		if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
			t.Fatalf("accepted %q, which is not a JSON object", data)
		}
		if in.kind == frameRefresh {
			if in.token == "" || len(in.token) > maxTokenChars || text != "" || clientID != "" {
				t.Fatalf("accepted auth.refresh %q as %+v", data, in)
			}
			return
		}
		if in.kind == frameTyping {
			if in.token != "" || text != "" || clientID != "" {
				t.Fatalf("accepted chat.typing %q as %+v", data, in)
			}
			return
		}
		if strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > maxChars || !utf8.ValidString(text) {
			t.Fatalf("accepted message %q (limit %d)", text, maxChars)
		}
		if utf8.RuneCountInString(clientID) > maxClientIDChars || !utf8.ValidString(clientID) {
			t.Fatalf("accepted client_id %q", clientID)
		}
	})
}
