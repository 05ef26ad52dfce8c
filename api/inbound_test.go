package api

import "testing"

// Frame keys are matched exactly, on the fast path and off it (a value with
// an escape takes the full decoder): the service LiveChat replaces read
// text_data_json["message"], and "MESSAGE" is another key.
func TestParseInboundKeysAreExact(t *testing.T) {
	for _, tc := range []struct {
		frame, text, problem string
	}{
		{frame: `{"type":"chat.message","message":"hi"}`, text: "hi"},
		{frame: `{"type":"chat.message","message":"a\"b"}`, text: `a"b`},
		{frame: `{"type":"chat.message","message":"x","message":"y\n"}`, text: "y\n"},
		{frame: `{"type":"chat.message","MESSAGE":"hi"}`, problem: "missing message"},
		{frame: `{"type":"chat.message","Message":"a\"b"}`, problem: "missing message"},
		{frame: `{"TYPE":"chat.message","message":"hi"}`, problem: "missing type"},
		{frame: `{"Type":"chat.message","message":"a\"b"}`, problem: "missing type"},
	} {
		in := parseInbound([]byte(tc.frame), 4096)
		if in.problem != tc.problem || in.text != tc.text {
			t.Errorf("%s: text %q, problem %q; want %q, %q", tc.frame, in.text, in.problem, tc.text, tc.problem)
		}
	}
}
