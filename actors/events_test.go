package actors

import "testing"

func TestParseEvents(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Events
	}{
		{"", 0},
		{"typing", EventTyping},
		{"typing,read,edit,member", EventTyping | EventRead | EventEdit | EventMember},
		{" edit , member ", EventEdit | EventMember},
		{"reactions,edit,,", EventEdit},
		{"TYPING", 0},
	} {
		if got := ParseEvents(c.in); got != c.want {
			t.Errorf("ParseEvents(%q) = %b, want %b", c.in, got, c.want)
		}
	}
	if !(EventTyping | EventRead).Has(EventRead) || EventTyping.Has(EventRead) {
		t.Error("Has is wrong")
	}
}
