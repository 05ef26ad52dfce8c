package api

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzScanInboundMatchesJSON checks the fast path of the frame decoder
// against encoding/json: whatever scanInbound accepts, json.Unmarshal
// accepts too, with the same raw field values; and in a valid UTF-8 frame
// (parseInbound refuses any other first) a string decodes the same both
// ways.
func FuzzScanInboundMatchesJSON(f *testing.F) {
	for _, seed := range []string{
		`{"type":"chat.message","message":"안녕하세요!","client_id":"c-1"}`,
		` { "type" : "chat.read" , "seq" : 58 } `,
		`{"type":"chat.read","seq":-0}`, `{"type":"chat.read","seq":01}`, `{"type":"chat.read","seq":1e3}`,
		`{"type":"chat.typing","typing":false}`, `{"type":"chat.typing","typing":nul}`,
		`{"type":"chat.message","message":"a\"b"}`, `{"type":"chat.message","message":"x","message":"y"}`,
		`{"Type":"chat.message"}`, `{"type":"chat.message","extra":{"a":[1]}}`,
		`{}`, `{} x`, `{"type":"x",}`, `{"type" "x"}`, `[]`, `null`, "{\"type\":\"a\tb\"}", `{"type":true}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast, full inbound
		if !scanInbound(data, &fast) {
			return
		}
		if err := json.Unmarshal(data, &full); err != nil {
			t.Fatalf("%q: the fast path accepted what encoding/json refuses: %v", data, err)
		}
		for _, f := range []struct{ a, b json.RawMessage }{
			{fast.Type, full.Type}, {fast.Message, full.Message}, {fast.ClientID, full.ClientID},
			{fast.Token, full.Token}, {fast.Seq, full.Seq}, {fast.Typing, full.Typing},
		} {
			if !bytes.Equal(f.a, f.b) || (f.a == nil) != (f.b == nil) {
				t.Fatalf("%q: fast %q, encoding/json %q", data, f.a, f.b)
			}
			var s1, s2 string
			e1, e2 := jsonString(f.a, &s1), json.Unmarshal(f.a, &s2)
			if f.a != nil && utf8.Valid(data) && ((e1 == nil) != (e2 == nil) || s1 != s2) {
				t.Fatalf("%q: string %q decoded %q (%v), encoding/json %q (%v)", data, f.a, s1, e1, s2, e2)
			}
		}
	})
}

func BenchmarkParseInbound(b *testing.B) {
	frame := []byte(`{"type":"chat.message","message":"b1:3:1234:1764924000000000000:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","client_id":"ab12cd:3:1234"}`)
	b.ReportAllocs()
	for b.Loop() {
		if in := parseInbound(frame, 1000); in.problem != "" {
			b.Fatal(in.problem)
		}
	}
}
