package bench

import (
	"strings"
	"testing"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, p := range []payload{
		{sender: 0, n: 0, sent: 0},
		{sender: 7, n: 123456, sent: 1764115863412000000},
		{sender: 9999999, n: 1<<26 - 1, sent: 1<<63 - 1},
	} {
		for _, size := range []int{minPayloadSize, 100, 4096} {
			b := appendPayload(nil, p, size)
			if len(b) != size {
				t.Errorf("size %d: got %d bytes: %s", size, len(b), b)
			}
			got, ok := parsePayload(b)
			if !ok || got != p {
				t.Errorf("parse(%s) = %+v, %v; want %+v", b, got, ok, p)
			}
		}
	}
}

func TestParsePayloadRejects(t *testing.T) {
	for _, s := range []string{
		"", "hello", "b1:", "b1:1:2", "b1:1:2:3", "b1:a:2:3:", "b1:1::3:", "b1:1:2:3:xxy",
		"b1:-1:2:3:", "b1:1:2:99999999999999999999:", "b2:1:2:3:", "B1:1:2:3:",
	} {
		if p, ok := parsePayload([]byte(s)); ok {
			t.Errorf("parsePayload(%q) = %+v, want rejection", s, p)
		}
	}
}

func TestSendFrameIsValidJSON(t *testing.T) {
	b := appendSendFrame(nil, "abc123", payload{sender: 3, n: 42, sent: 1}, 100)
	f, err := decodeFrame(b)
	if err != nil || string(f.typ) != "chat.message" {
		t.Fatalf("decode %s: %+v %v", b, f, err)
	}
	if p, ok := parsePayload(f.message); !ok || p.n != 42 || p.sender != 3 {
		t.Fatalf("payload %s: %+v %v", f.message, p, ok)
	}
	if !strings.Contains(string(b), `"client_id":"abc123:3:42"`) {
		t.Fatalf("no client_id in %s", b)
	}
}

func BenchmarkParseFrame(b *testing.B) {
	msg := appendPayload(nil, payload{sender: 12, n: 3456, sent: 1764115863412000000}, 100)
	frame := []byte(`{"type": "chat.message", "message": "` + string(msg) + `", "sender": "user@example.com", ` +
		`"nickname": "사용자명", "profile_picture_url": null, "id": 42, "room": 7, "seq": 19, "created_at": "2026-11-25T20:11:03.412Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		f, err := scanFrame(frame)
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := parsePayload(f.message); !ok {
			b.Fatal("payload")
		}
	}
}
