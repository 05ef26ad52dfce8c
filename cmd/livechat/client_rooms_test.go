package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// demoUserID logs a demo account in and returns its user id.
func demoUserID(t testing.TB, base string, n int) int64 {
	t.Helper()
	c, _ := newAPIClient(base)
	if err := c.login(context.Background(), demoAccounts[n].email, demoPassword); err != nil {
		t.Fatal(err)
	}
	return c.user.ID
}

// TestClientDirectRoomEditDeleteAndReads: /dm opens the direct room of
// two users in both clients; a message there is read by the other, which
// the sender sees as a "read by" line; /edit and /delete change the
// sender's last message for both.
func TestClientDirectRoomEditDeleteAndReads(t *testing.T) {
	base := startTestServer(t)
	setupDemo(t, base)
	id1, id2 := demoUserID(t, base, 0), demoUserID(t, base, 1)
	c, _ := newAPIClient(base)
	if err := c.login(context.Background(), demoAccounts[0].email, demoPassword); err != nil {
		t.Fatal(err)
	}
	demo, err := c.resolveRoom(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	one := startClient(t, "--user", "1", "--server", base)
	two := startClient(t, "--user", "2", "--server", base)
	one.waitOutput(t, "* connected\n")
	two.waitOutput(t, "* connected\n")

	one.typeLine(t, fmt.Sprintf("/dm %d", id2))
	one.waitOutput(t, "\"사용자2\", you are 사용자1")
	two.typeLine(t, fmt.Sprintf("/dm %d", id1))
	two.waitOutput(t, "\"사용자1\", you are 사용자2")
	eventually(t, clientWait, func() error {
		if n := strings.Count(one.out.String(), "* connected\n"); n != 2 {
			return fmt.Errorf("user 1 connected %d times, want 2 (the demo room, then the direct room)", n)
		}
		if n := strings.Count(two.out.String(), "* connected\n"); n != 2 {
			return fmt.Errorf("user 2 connected %d times, want 2", n)
		}
		return nil
	})

	one.typeLine(t, "둘만의 이야기")
	two.waitOutput(t, "] 사용자1: 둘만의 이야기\n")
	one.waitOutput(t, "* read by 사용자2\n")

	one.typeLine(t, "/edit 고친 이야기")
	two.waitOutput(t, "] 사용자1 (edited): 고친 이야기\n")
	one.waitOutput(t, "] 사용자1 (edited): 고친 이야기\n")
	one.typeLine(t, "/delete")
	two.waitOutput(t, "* a message by 사용자1 was deleted\n")
	one.waitOutput(t, "* a message by 사용자1 was deleted\n")
	one.typeLine(t, "/delete")
	one.waitOutput(t, "* nothing to delete: you have no message in this room\n")

	// The demo room never saw the direct room's message.
	room, err := c.roomDetail(context.Background(), demo)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range room.Messages {
		if strings.Contains(m.Message, "이야기") {
			t.Fatalf("the demo room holds %+v", m)
		}
	}
}
