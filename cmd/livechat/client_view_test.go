package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func viewFrame(t *testing.T, v *chatView, raw string) (bool, int64) {
	t.Helper()
	var f serverFrame
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	return v.frame(f)
}

// TestChatViewTypingReadsAndOldServers: typing status from frames, cleared
// by the typist's message and by its timeout; one "read by" line per reader
// of the user's last message; an older server's refusals of the optional
// frames are not shown, and stop them.
func TestChatViewTypingReadsAndOldServers(t *testing.T) {
	var out bytes.Buffer
	v := newChatView(&chatPrinter{w: &out, loc: time.UTC}, apiUser{ID: 1, Email: "me@example.com", Nickname: "나"})

	if changed, _ := viewFrame(t, v, `{"type":"chat.typing","room":1,"user_id":2,"nickname":"민수","typing":true,"timeout_ms":5000}`); !changed || v.typingStatus() != "민수 is typing…" {
		t.Fatalf("status %q after a typing frame", v.typingStatus())
	}
	viewFrame(t, v, `{"type":"chat.typing","room":1,"user_id":3,"nickname":"bob","typing":true,"timeout_ms":5000}`)
	if s := v.typingStatus(); s != "bob and 민수 are typing…" {
		t.Fatalf("status %q with two typists", s)
	}
	changed, seq := viewFrame(t, v, `{"type":"chat.message","message":"hi","sender":"minsu@example.com","sender_id":2,"nickname":"민수","id":10,"seq":4,"created_at":"2026-11-25T20:11:03.412Z"}`)
	if !changed || seq != 4 || v.typingStatus() != "bob is typing…" {
		t.Fatalf("after 민수's message: changed %v, seq %d, status %q", changed, seq, v.typingStatus())
	}
	if !v.expireTyping(time.Now().Add(6*time.Second)) || v.typingStatus() != "" {
		t.Fatalf("status %q after the timeout", v.typingStatus())
	}

	out.Reset()
	viewFrame(t, v, `{"type":"chat.message","message":"mine","sender":"ME@example.com","nickname":"나","id":11,"seq":5,"created_at":"2026-11-25T20:11:04.000Z"}`)
	viewFrame(t, v, `{"type":"chat.read","room":1,"reads":[{"user_id":2,"seq":4},{"user_id":1,"seq":5}]}`)
	viewFrame(t, v, `{"type":"chat.read","room":1,"reads":[{"user_id":2,"seq":5},{"user_id":9,"seq":6}]}`)
	viewFrame(t, v, `{"type":"chat.read","room":1,"reads":[{"user_id":2,"seq":6}]}`)
	want := "[20:11:04] 나: mine\n* read by user 9, 민수\n"
	if out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
	if last, ok := v.lastOwn(); !ok || last.id != 11 {
		t.Fatalf("last own message %+v %v, want id 11", last, ok)
	}

	out.Reset()
	viewFrame(t, v, `{"type":"chat.error","error_type":"invalid_request","message":"unknown type \"chat.typing\""}`)
	viewFrame(t, v, `{"type":"chat.error","error_type":"invalid_request","message":"unknown type \"chat.read\""}`)
	if out.Len() != 0 || !v.noTyping || !v.noRead {
		t.Fatalf("an old server's refusals: printed %q, noTyping %v, noRead %v", out.String(), v.noTyping, v.noRead)
	}
}
