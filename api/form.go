package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// form decodes a JSON object body field by field, collecting DRF-style
// validation messages, so that every bad field is reported at once and no
// type mismatch can reach a handler.
type form struct {
	raw  map[string]json.RawMessage
	errs map[string][]string
	// lists holds, for an HTML form body, every value of each field in
	// order: a list field reads them all, as DRF's getlist does.
	lists map[string][]json.RawMessage
}

// decodeForm parses body as a JSON object.
func decodeForm(body []byte) (*form, error) {
	f := newForm()
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return f, nil // every required field will be reported missing
	}
	if !utf8.Valid(body) {
		return nil, detailError(EINVALID, "JSON parse error - the body is not valid UTF-8")
	}
	if body[0] != '{' {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, detailError(EINVALID, "JSON parse error - "+jsonErrorText(err))
		}
		return nil, fieldError("non_field_errors", fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", jsonKind(v)))
	}
	if err := json.Unmarshal(body, &f.raw); err != nil {
		return nil, detailError(EINVALID, "JSON parse error - "+jsonErrorText(err))
	}
	return f, nil
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	return err.Error()
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "str"
	case float64:
		return "int"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	}
	return "object"
}

func (f *form) add(field, msg string) { f.errs[field] = append(f.errs[field], msg) }

// err returns the collected validation errors, or nil.
func (f *form) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Fields: f.errs}
}

type strRule struct {
	required   bool
	allowBlank bool
	trim       bool
	maxChars   int
}

// str reads a string field. Numbers are accepted as their text, as DRF's
// CharField does; objects, lists and booleans are not.
func (f *form) str(name string, r strRule) string {
	raw, ok := f.raw[name]
	if !ok || string(raw) == "null" {
		if r.required {
			if ok {
				f.add(name, "This field may not be null.")
			} else {
				f.add(name, "This field is required.")
			}
		}
		return ""
	}
	var s string
	switch raw[0] {
	case '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			f.add(name, "Not a valid string.")
			return ""
		}
		// encoding/json turns a lone surrogate escape into U+FFFD; DRF
		// refuses it rather than store something else.
		if r, ok := loneSurrogate(raw); ok {
			f.add(name, fmt.Sprintf("Surrogate characters are not allowed: U+%X.", r))
			return ""
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		s = string(raw)
	default:
		f.add(name, "Not a valid string.")
		return ""
	}
	if r.trim {
		s = strings.TrimSpace(s)
	}
	if strings.TrimSpace(s) == "" && !r.allowBlank {
		f.add(name, "This field may not be blank.")
		return ""
	}
	if r.maxChars > 0 && utf8.RuneCountInString(s) > r.maxChars {
		f.add(name, fmt.Sprintf("Ensure this field has no more than %d characters.", r.maxChars))
		return ""
	}
	if strings.IndexByte(s, 0) >= 0 {
		f.add(name, "Null characters are not allowed.")
		return ""
	}
	return s
}

// loneSurrogate finds a \uD800–\uDFFF escape in a JSON string that is not
// half of a surrogate pair.
func loneSurrogate(raw []byte) (rune, bool) {
	for i := 0; i+6 <= len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // an escaped character, perhaps a backslash
			continue
		}
		r := hex4(raw[i+2 : i+6])
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if lo := hex4(raw[i+8 : i+12]); lo >= 0xDC00 && lo <= 0xDFFF {
					i += 11
					continue
				}
			}
			return r, true
		case r >= 0xDC00 && r <= 0xDFFF:
			return r, true
		}
		i += 5
	}
	return 0, false
}

// hex4 decodes four hex digits; -1 when they are not.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

// intValue parses a JSON integer, or a string holding one; ok is false for
// anything else, including numbers out of int64 range.
func intValue(raw json.RawMessage) (int64, bool) {
	s := string(raw)
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false
		}
		// DRF's int() of the text once a trailing ".0" is dropped: no
		// exponent, no fraction.
		s = strings.TrimSpace(s)
		if i := strings.IndexByte(s, '.'); i >= 0 && strings.Trim(s[i+1:], "0") == "" {
			s = s[:i]
		}
		v, err := strconv.ParseInt(s, 10, 64)
		return v, err == nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, true
	}
	fl, err := strconv.ParseFloat(s, 64)
	if err != nil || fl != math.Trunc(fl) || math.Abs(fl) >= 1<<62 {
		return 0, false
	}
	return int64(fl), true
}

// positiveInt reads an optional integer ≥ 1; 0 when absent or null.
func (f *form) positiveInt(name string, required bool) int64 {
	raw, ok := f.raw[name]
	if !ok || string(raw) == "null" {
		switch {
		case required && ok:
			f.add(name, "This field may not be null.")
		case required:
			f.add(name, "This field is required.")
		}
		return 0
	}
	v, ok := intValue(raw)
	if !ok {
		f.add(name, "A valid integer is required.")
		return 0
	}
	if v < 1 {
		f.add(name, "Ensure this value is greater than or equal to 1.")
		return 0
	}
	return v
}
