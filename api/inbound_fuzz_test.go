package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseInboundRoundTrip feeds the socket's frame decoder arbitrary
// bytes, seeded with real client frames: it never panics, a valid result is
// a non-empty message within the limit, and what it accepts, encoded again
// as a client would, decodes to the same message and client_id.
// (FuzzParseInbound in form_fuzz_test.go checks the refusals.)
func FuzzParseInboundRoundTrip(f *testing.F) {
	for _, seed := range []string{
		`{"type":"chat.message","message":"안녕하세요!"}`,
		`{"type":"chat.message","message":"hi 👋🏽","client_id":"c-1"}`,
		`{"type": "chat.message", "message": "spaced\n\"quoted\" \u2028"}`,
		`{"type":"chat.message","message":"x","client_id":null}`,
		`{"type":"chat.message","message":""}`,
		`{"type":"chat.message","message":"   "}`,
		`{"type":"chat.message","message":42}`,
		`{"type":"chat.message"}`,
		`{"type":"chat.shout","message":"x"}`,
		`{"type":7}`,
		`{"message":"x"}`,
		`{}`, `[]`, `null`, `"x"`, `hello`, ``,
		`{"type":"chat.message","message":"` + strings.Repeat("가", 11) + `"}`,
		`{"type":"chat.message","message":"a\ud800b"}`,
		"{\"type\":\"chat.message\",\"message\":\"\xff\"}",
		`{"type":"chat.message","message":"x","message":"y"}`,
		`{"TYPE":"chat.message","Message":"case"}`,
		`{"type":"auth.refresh","token":"eyJhbGciOiJIUzI1NiJ9.e30.x"}`,
		`{"type":"auth.refresh","token":""}`,
		`{"type":"auth.refresh","token":7}`,
		`{"type":"auth.refresh"}`,
		`{"type":"chat.typing"}`,
		`{"type":"chat.typing","typing":false}`,
		`{"type":"chat.typing","typing":"yes"}`,
		`{"type":"chat.read","seq":58}`,
		`{"type":"chat.read","seq":-1}`,
		`{"type":"chat.read","seq":1.5}`,
		`{"type":"chat.read","seq":"3"}`,
		`{"type":"chat.read"}`,
	} {
		f.Add([]byte(seed), 10)
	}
	f.Fuzz(func(t *testing.T, data []byte, maxChars int) {
		maxChars = 1 + int(uint(maxChars)%64)
		in := parseInbound(data, maxChars)
		if in.kind == frameRefresh {
			if in.token == "" || in.text != "" || in.problem != "" {
				t.Fatalf("auth.refresh %q parsed as %+v", data, in)
			}
			return
		}
		if in.kind == frameTyping {
			if in.text != "" || in.token != "" || in.problem != "" {
				t.Fatalf("chat.typing %q parsed as %+v", data, in)
			}
			again := fmt.Appendf(nil, `{"type":"chat.typing","typing":%v}`, in.typing)
			if in2 := parseInbound(again, maxChars); in2.kind != frameTyping || in2.typing != in.typing {
				t.Fatalf("round trip of %q: %+v", data, in2)
			}
			return
		}
		if in.kind == frameRead {
			if in.seq < 0 || in.text != "" || in.token != "" || in.problem != "" {
				t.Fatalf("chat.read %q parsed as %+v", data, in)
			}
			again := fmt.Appendf(nil, `{"type":"chat.read","seq":%d}`, in.seq)
			if in2 := parseInbound(again, maxChars); in2.kind != frameRead || in2.seq != in.seq {
				t.Fatalf("round trip of %q: %+v", data, in2)
			}
			return
		}
		text, clientID, problem := in.text, in.clientID, in.problem
		if problem != "" {
			if text != "" || clientID != "" {
				t.Fatalf("problem %q with text %q client_id %q", problem, text, clientID)
			}
			return
		}
		if strings.TrimSpace(text) == "" {
			t.Fatalf("accepted an empty message from %q", data)
		}
		if n := utf8.RuneCountInString(text); n > maxChars {
			t.Fatalf("accepted %d characters, limit %d", n, maxChars)
		}
		if !utf8.ValidString(text) || !utf8.ValidString(clientID) {
			t.Fatalf("accepted invalid UTF-8 %q %q", text, clientID)
		}
		if strings.IndexByte(text, 0) >= 0 {
			t.Fatalf("accepted a null character in %q", data)
		}
		if utf8.RuneCountInString(clientID) > maxClientIDChars {
			t.Fatalf("accepted a client_id of %d characters", utf8.RuneCountInString(clientID))
		}
		again, err := json.Marshal(map[string]string{"type": "chat.message", "message": text, "client_id": clientID})
		if err != nil {
			t.Fatal(err)
		}
		in2 := parseInbound(again, maxChars)
		text2, clientID2, problem2 := in2.text, in2.clientID, in2.problem
		if problem2 != "" || text2 != text || clientID2 != clientID {
			t.Fatalf("round trip of %q: %q %q %q", data, text2, clientID2, problem2)
		}
	})
}
