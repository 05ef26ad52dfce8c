package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// profilePatch is a parsed PATCH /user/v1/profile/ body: its fields as a
// form, and the profile_picture file when a multipart body carries one.
type profilePatch struct {
	form *form
	// html: the body was a form (urlencoded or multipart), whose values are
	// all strings; an empty profile_picture there means none, as in DRF.
	html       bool
	picture    []byte
	hasPicture bool
}

// Bounds of a multipart profile body beyond its size: a part count and a
// text field size far above what the three fields need.
const (
	multipartMaxParts     = 16
	multipartMaxTextBytes = 16 << 10
)

// readProfilePatch parses a profile PATCH: JSON, a urlencoded form, or
// multipart/form-data, the one form that can carry a picture.
func (s *Server) readProfilePatch(ctx *fasthttp.RequestCtx) (*profilePatch, error) {
	body := ctx.PostBody()
	mediaType, params, _ := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
	if t := bytes.TrimSpace(body); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		mediaType = "" // JSON whatever its label, as readForm reads it
	}
	if mediaType == "multipart/form-data" {
		// The body may be up to the picture limit plus multipartSlack; past
		// it, the answer is 413, unless the picture alone is over its limit,
		// which is the more useful answer (see Server.maxBody).
		over := len(body) > s.cfg.MaxAvatarBytes+multipartSlack
		p, err := parseProfileMultipart(body, params["boundary"], s.cfg.MaxAvatarBytes)
		if over && (err != nil || !p.hasPicture || len(p.picture) <= s.cfg.MaxAvatarBytes) {
			return nil, errTooLarge
		}
		return p, err
	}
	f, err := readForm(ctx)
	if err != nil {
		return nil, err
	}
	return &profilePatch{form: f, html: mediaType == "application/x-www-form-urlencoded"}, nil
}

// parseProfileMultipart reads a multipart/form-data body as Django does:
// text parts are fields (a repeated one keeps its last value), parts with
// a filename are files, a file input left empty (filename="") is skipped,
// and a file wins over a text field of the same name. The picture is read
// up to maxFile+1 bytes, enough to tell that it is too large.
func parseProfileMultipart(body []byte, boundary string, maxFile int) (*profilePatch, error) {
	if boundary == "" {
		return nil, detailError(EINVALID, "Multipart form parse error - Invalid boundary in multipart: None")
	}
	p := &profilePatch{form: newForm(), html: true}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, multipartError(err.Error())
		}
		if parts == multipartMaxParts {
			return nil, multipartError("too many parts")
		}
		if err := p.addPart(part, maxFile); err != nil {
			return nil, err
		}
	}
	if p.hasPicture {
		delete(p.form.raw, "profile_picture")
	}
	return p, nil
}

func multipartError(what string) *Error {
	return detailError(EINVALID, "Multipart form parse error - "+what)
}

func (p *profilePatch) addPart(part *multipart.Part, maxFile int) error {
	name := part.FormName()
	if name == "" {
		return nil // no field name: Django skips the part
	}
	_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	filename, isFile := params["filename"]
	if isFile && filename == "" {
		return nil // a file input left empty
	}
	limit := multipartMaxTextBytes
	if isFile {
		limit = maxFile
	}
	data, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
	if err != nil {
		return multipartError(err.Error())
	}
	if !utf8.ValidString(name) {
		return multipartError("a field is not valid UTF-8")
	}
	switch {
	case isFile && name == "profile_picture":
		p.picture, p.hasPicture = data, true
	case isFile:
		p.form.raw[name] = json.RawMessage(`{"file":true}`) // a file where a value is expected: the field's rule refuses it
	case len(data) > limit:
		return multipartError("field " + strconv.Quote(name) + " is too long")
	case !utf8.Valid(data):
		return multipartError("a field is not valid UTF-8")
	default:
		p.form.setString(name, string(data))
	}
	return nil
}

// DRF's BooleanField: the values it takes for true and false.
var (
	boolTrue  = map[string]bool{"t": true, "T": true, "y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "true": true, "True": true, "TRUE": true, "on": true, "On": true, "ON": true, "1": true}
	boolFalse = map[string]bool{"f": true, "F": true, "n": true, "N": true, "no": true, "No": true, "NO": true, "false": true, "False": true, "FALSE": true, "off": true, "Off": true, "OFF": true, "0": true}
)

// boolean reads a field as DRF's BooleanField does: JSON true and false,
// the numbers 1 and 0, and the strings of boolTrue and boolFalse.
func (f *form) boolean(name string) (value, ok bool) {
	raw := f.raw[name]
	switch s := string(raw); {
	case s == "true":
		return true, true
	case s == "false":
		return false, true
	case s == "null":
		f.add(name, "This field may not be null.")
		return false, false
	case len(s) > 0 && s[0] == '"':
		var str string
		if json.Unmarshal(raw, &str) == nil {
			if boolTrue[str] {
				return true, true
			}
			if boolFalse[str] {
				return false, true
			}
		}
	default:
		// A JSON number equal to 1 or 0 (1.0 too: DRF looks the value up
		// in a set, where 1.0 == 1).
		if n, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(n, 0) && len(s) > 0 && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
			switch n {
			case 1:
				return true, true
			case 0:
				return false, true
			}
		}
	}
	f.add(name, "Must be a valid boolean.")
	return false, false
}
