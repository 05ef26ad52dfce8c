package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// runSetup registers the demo accounts and makes sure a room exists. Running
// it again changes nothing: an account counts as present when its demo
// password logs in, and a room is only created when the server has none.
func runSetup(ctx context.Context, opts clientOptions, out io.Writer) error {
	var owner *apiClient
	for i, acc := range demoAccounts {
		c, err := newAPIClient(opts.server)
		if err != nil {
			return err
		}
		state, err := ensureAccount(ctx, c, acc.email, acc.nickname)
		if err != nil {
			return fmt.Errorf("setup %s: %w", acc.email, err)
		}
		fmt.Fprintf(out, "user %d: %s (%s) %s\n", i+1, acc.email, cleanLine(c.user.Nickname), state)
		if i == 0 {
			owner = c
		}
	}
	room, state, err := ensureRoom(ctx, owner)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	fmt.Fprintf(out, "room %d: %q %s\n", room.ID, cleanLine(room.Name), state)
	fmt.Fprintf(out, "now run `livechat client --user 1` and, in another terminal, `livechat client --user 2`\n")
	return nil
}

// ensureAccount registers the account unless it exists and leaves c logged in.
func ensureAccount(ctx context.Context, c *apiClient, email, nickname string) (string, error) {
	regErr := c.register(ctx, email, demoPassword, nickname)
	if regErr != nil && apiStatus(regErr) != http.StatusBadRequest {
		return "", fmt.Errorf("register: %w", regErr)
	}
	// A 400 is expected on the second run ("already registered"); the login
	// tells that case apart from a real validation failure.
	if err := c.login(ctx, email, demoPassword); err != nil {
		if regErr != nil {
			return "", fmt.Errorf("register: %w", regErr)
		}
		return "", err
	}
	if regErr != nil {
		return "already registered", nil
	}
	return "registered", nil
}

// ensureRoom returns the server's first room, creating the demo room as the
// logged-in user when there is none.
func ensureRoom(ctx context.Context, c *apiClient) (apiRoom, string, error) {
	rooms, err := c.listRooms(ctx)
	if err != nil {
		return apiRoom{}, "", err
	}
	if len(rooms) > 0 {
		return rooms[0], "already exists", nil
	}
	room, err := c.createRoom(ctx, demoRoomName)
	if err != nil {
		return apiRoom{}, "", err
	}
	return room, "created", nil
}
