package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"livechat/actors"
)

// readForm parses a request body into a form. JSON is the protocol's body
// format; like Django REST framework, an HTML form body
// (application/x-www-form-urlencoded or multipart/form-data) is accepted
// too, each field a string, so a client that posted forms to the original
// service keeps working. A body that starts like JSON is read as JSON
// whatever its Content-Type: `curl -d '{...}'` labels JSON as a form.
func readForm(ctx *fasthttp.RequestCtx) (*form, error) {
	body := ctx.PostBody()
	if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return decodeForm(body)
	}
	mediaType, _, _ := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
	switch mediaType {
	case "application/x-www-form-urlencoded":
		f := newForm()
		valid := true
		for k, v := range ctx.PostArgs().All() {
			if !utf8.Valid(k) || !utf8.Valid(v) {
				valid = false
				break
			}
			f.setString(string(k), string(v))
		}
		if !valid {
			return nil, detailError(EINVALID, "Form parse error - a field is not valid UTF-8")
		}
		return f, nil
	case "multipart/form-data":
		mf, err := ctx.MultipartForm()
		if err != nil {
			return nil, detailError(EINVALID, "Multipart form parse error - "+err.Error())
		}
		f := newForm()
		for k, vs := range mf.Value {
			for _, v := range vs {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					return nil, detailError(EINVALID, "Multipart form parse error - a field is not valid UTF-8")
				}
				f.setString(k, v)
			}
		}
		for k := range mf.File {
			f.raw[k] = json.RawMessage(`{"file":true}`) // a file where a value is expected: the field's rule refuses it
		}
		return f, nil
	}
	return decodeForm(body)
}

func newForm() *form {
	return &form{raw: map[string]json.RawMessage{}, errs: map[string][]string{}}
}

// setString sets a field of an HTML form to a string value; a repeated
// field keeps its last value, as Django's QueryDict.get does, and every
// value in lists, as QueryDict.getlist does.
func (f *form) setString(name, value string) {
	v := json.RawMessage(actors.AppendJSONString(nil, value))
	f.raw[name] = v
	if f.lists == nil {
		f.lists = map[string][]json.RawMessage{}
	}
	f.lists[name] = append(f.lists[name], v)
}
