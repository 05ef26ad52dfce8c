package api

import "encoding/json"

// scanInbound is the fast path of decoding a client frame, one pass over
// its bytes with no reflection: a flat JSON object whose keys are exactly
// the known field names (lower case), each at most once, and whose values
// are strings without escapes or control characters, integers, true, false
// or null. It fills in with each value's raw bytes, as json.Unmarshal
// would, and reports false for anything else (escapes, other keys, nested
// values, bad JSON), which the full decoder then handles with its precise
// refusals. The raw values alias data.
func scanInbound(data []byte, in *inbound) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		end := plainStringEnd(data, i)
		if end < 0 {
			return false
		}
		field := in.field(data[i+1 : end-1])
		if field == nil || *field != nil {
			return false // a key the fast path leaves to encoding/json, or a repeated one
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		if end = scanValue(data, i); end < 0 {
			return false
		}
		*field = data[i:end]
		i = skipSpace(data, end)
		switch {
		case i >= len(data):
			return false
		case data[i] == '}':
			return skipSpace(data, i+1) == len(data)
		case data[i] != ',':
			return false
		}
		i = skipSpace(data, i+1)
	}
}

// field returns the field a key names exactly, or nil.
func (in *inbound) field(key []byte) *json.RawMessage {
	switch string(key) {
	case "type":
		return &in.Type
	case "message":
		return &in.Message
	case "client_id":
		return &in.ClientID
	case "token":
		return &in.Token
	case "seq":
		return &in.Seq
	case "typing":
		return &in.Typing
	}
	return nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// plainStringEnd returns the index just past the string starting at
// data[i], or -1 when there is none or it has an escape or a control
// character.
func plainStringEnd(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return j + 1
		case c == '\\' || c < 0x20:
			return -1
		}
	}
	return -1
}

// scanValue returns the index just past the value starting at data[i]: a
// plain string, an integer, true, false or null; -1 for anything else.
func scanValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch c := data[i]; {
	case c == '"':
		return plainStringEnd(data, i)
	case c == '-' || c >= '0' && c <= '9':
		j := i
		if c == '-' {
			j++
		}
		if j >= len(data) || data[j] < '0' || data[j] > '9' {
			return -1
		}
		if data[j] == '0' {
			return j + 1 // a following digit is not JSON: the caller refuses it
		}
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		return j
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit {
			return i + len(lit)
		}
	}
	return -1
}

// jsonString decodes a JSON string value: at once when it has no escapes
// or control characters, else with encoding/json. The frame was checked to
// be valid UTF-8, so the two agree.
func jsonString(raw []byte, s *string) error {
	if n := len(raw); n >= 2 && plainStringEnd(raw, 0) == n {
		*s = string(raw[1 : n-1])
		return nil
	}
	return json.Unmarshal(raw, s)
}
