package bench

import (
	"bytes"
	"encoding/json"
	"testing"
)

var frameSeeds = []string{
	`{"type": "chat.message", "message": "안녕하세요!", "sender": "user@example.com", "nickname": "사용자명", "profile_picture_url": "/media/profile.jpg", "id": 42, "room": 7, "seq": 19, "created_at": "2026-11-25T20:11:03.412Z"}`,
	`{"type":"chat.message","message":"b1:1:2:3:xxxx","seq":1}`,
	`{"type":"chat.user.join","username":"kim"}`,
	`{"type":"chat.error","error_type":"invalid_request","message":"bad"}`,
	`{"nickname":"\"message\":\"b1:9:9:9:\"","type":"chat.message","message":"real","seq":3}`,
	`{"message":"esc\"aped\u00e9","type":"chat.message","seq":2}`,
	`{"typ\u0065":"chat.message","message":"x"}`,
	`{"type":"chat.message","nested":{"message":"no","a":[1,{"seq":5}]},"message":"yes","seq":7}`,
	`{"seq":1e3,"type":"t"}`, `{"seq":-1}`, `{}`, ` { } `, `[]`, `{"a":}`, `{"a":1`, `{"a" 1}`, `nul`,
	`{"type":null,"message":5}`, `{"message":"a","message":"b"}`,
	`{"type":"inbox.message","room":7,"last_message":{"id":981,"seq":58,"sender_id":3,"nickname":"김민수","message":"b1:0:1:2:x","created_at":"2026-11-25T20:15:00.000Z","edited_at":null,"deleted_at":null}}`,
	`{"type":"inbox.room.add","room":{"id":7,"last_message":null}}`, `{"room":"7","last_message":[1]}`, `{"room":-3}`,
	`{"type":"chat.read","room":7,"reads":[{"user_id":12,"seq":58}]}`,
	`{"room":-0,"seq":-0}`, // encoding/json reads -0 as 0
}

func TestScanFrameKnown(t *testing.T) {
	f, err := scanFrame([]byte(frameSeeds[0]))
	if err != nil || string(f.typ) != "chat.message" || string(f.message) != "안녕하세요!" || !f.hasSeq || f.seq != 19 {
		t.Fatalf("got %+v %v", f, err)
	}
	f, err = scanFrame([]byte(frameSeeds[4])) // a key-like text inside a value is not a key
	if err != nil || string(f.message) != "real" || f.seq != 3 {
		t.Fatalf("got %+v %v", f, err)
	}
	f, err = scanFrame([]byte(frameSeeds[7])) // nested keys are not top-level keys
	if err != nil || string(f.message) != "yes" || f.seq != 7 {
		t.Fatalf("got %+v %v", f, err)
	}
	f, err = scanFrame([]byte(frameSeeds[19])) // inbox.message: its message is inside last_message
	if err != nil || string(f.typ) != "inbox.message" || !f.hasRoom || f.room != 7 || f.message != nil || f.hasSeq {
		t.Fatalf("got %+v %v", f, err)
	}
	lm, err := scanFrame(f.last)
	if err != nil || string(lm.message) != "b1:0:1:2:x" || lm.seq != 58 {
		t.Fatalf("last_message %+v %v", lm, err)
	}
	f, err = scanFrame([]byte(frameSeeds[20])) // inbox.room.add: room is an object
	if err != nil || f.hasRoom || f.last != nil {
		t.Fatalf("got %+v %v", f, err)
	}
}

// TestScanFrameAgreesWithJSON checks the fast path against encoding/json
// on the seeds; FuzzScanFrame does it on anything.
func TestScanFrameAgreesWithJSON(t *testing.T) {
	for _, s := range frameSeeds {
		checkAgainstJSON(t, []byte(s))
	}
}

func FuzzScanFrame(f *testing.F) {
	for _, s := range frameSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAgainstJSON(t, b) })
}

// checkAgainstJSON: whenever encoding/json decodes b as an object with
// string type/message fields, scanFrame must agree with it.
func checkAgainstJSON(t *testing.T, b []byte) {
	t.Helper()
	var v map[string]json.RawMessage
	got, err := scanFrame(b)
	if json.Unmarshal(b, &v) != nil || v == nil {
		return // lenient on invalid input: server frames are valid JSON
	}
	if err != nil {
		t.Fatalf("scanFrame(%q): %v", b, err)
	}
	for key, field := range map[string][]byte{"type": got.typ, "message": got.message} {
		var want string
		if raw, ok := v[key]; ok && json.Unmarshal(raw, &want) == nil {
			if !bytes.Equal(field, []byte(want)) {
				t.Fatalf("%q: %s = %q, want %q", b, key, field, want)
			}
		}
	}
	var seq int64
	if raw, ok := v["seq"]; ok && json.Unmarshal(raw, &seq) == nil && seq >= 0 && got.seq != seq {
		t.Fatalf("%q: seq = %d, want %d", b, got.seq, seq)
	}
	var room int64
	if raw, ok := v["room"]; ok && json.Unmarshal(raw, &room) == nil && room >= 0 && (!got.hasRoom || got.room != room) {
		t.Fatalf("%q: room = %d (%v), want %d", b, got.room, got.hasRoom, room)
	}
	var last map[string]json.RawMessage
	if raw, ok := v["last_message"]; ok && json.Unmarshal(raw, &last) == nil && last != nil {
		var again map[string]json.RawMessage
		if json.Unmarshal(got.last, &again) != nil || len(again) != len(last) {
			t.Fatalf("%q: last_message = %q", b, got.last)
		}
	}
}
