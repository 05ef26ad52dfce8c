package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiTimeout bounds every REST call; the server answers these from memory
// or one storage read, so anything slower means it is unreachable or stuck.
const apiTimeout = 15 * time.Second

// apiMaxErrorBody caps how much of an error response is read: enough for any
// JSON error the protocol defines, small enough that a misbehaving proxy
// cannot make the client buffer a large page.
const apiMaxErrorBody = 64 << 10

// apiUser is the user object of the protocol.
type apiUser struct {
	ID       int64  `json:"id"`
	Email    string `json:"email"`
	Nickname string `json:"nickname"`
}

// apiRoom is a room; Messages and Online are only filled by the room detail.
type apiRoom struct {
	ID       int64        `json:"id"`
	Name     string       `json:"name"`
	Messages []apiMessage `json:"chat_messages"`
	Online   []string     `json:"online"`
	Peer     *apiPeer     `json:"peer"` // the other member of a direct room
}

// apiPeer is the public user object of a direct room's other member.
type apiPeer struct {
	ID       int64  `json:"id"`
	Nickname string `json:"nickname"`
}

// apiMessage is a stored message as REST returns it.
type apiMessage struct {
	ID        int64  `json:"id"`
	Room      int64  `json:"room"`
	Seq       int64  `json:"seq"`
	Sender    string `json:"sender"`
	SenderID  int64  `json:"sender_id"`
	Nickname  string `json:"nickname"`
	Message   string `json:"message"`
	CreatedAt string `json:"created_at"`
}

// apiError is a non-2xx answer, reduced to the one line a user should read.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

// apiStatus reports the HTTP status carried by err, or 0 when err did not
// come from a server answer (a network failure, say).
func apiStatus(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// apiClient talks to one server's REST API as one user. It is not safe for
// concurrent use: each mode uses it from one goroutine at a time.
type apiClient struct {
	base    *url.URL
	http    *http.Client
	email   string
	pass    string
	access  string
	refresh string
	user    apiUser
	// accessAt is when access was received: its lifetime counts from then
	// (tokenrenew.go), whatever the difference between the two clocks.
	accessAt time.Time
}

func newAPIClient(server string) (*apiClient, error) {
	base, err := parseServerURL(server)
	if err != nil {
		return nil, err
	}
	return &apiClient{base: base, http: &http.Client{Timeout: apiTimeout}}, nil
}

// parseServerURL accepts http(s)://host:port[/prefix] or a bare host:port,
// which is what people type when they mean the default scheme.
func parseServerURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid --server %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid --server %q: want http://HOST:PORT", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("invalid --server %q: want http://HOST:PORT", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// endpoint joins a protocol path (which starts and ends with "/") to the base.
func (c *apiClient) endpoint(path string) string {
	u := *c.base
	u.Path += path
	return u.String()
}

// do sends one JSON request and decodes a 2xx answer into out (if non-nil).
// It returns the raw body too, for callers that print it verbatim.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(path), body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.access != "" {
		req.Header.Set("Authorization", "Bearer "+c.access)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in our message already
		}
		return nil, fmt.Errorf("cannot reach %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, apiMaxErrorBody))
		return nil, &apiError{Status: resp.StatusCode, Msg: apiErrorText(resp.StatusCode, raw)}
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, fmt.Errorf("decode %s %s: %w", method, path, err)
		}
	}
	return raw, nil
}

// apiErrorText flattens the protocol's error bodies to one line:
// {"detail": "..."}, {"non_field_errors": [...]} and {"field": [...]}.
func apiErrorText(status int, raw []byte) string {
	var body map[string]json.RawMessage
	if json.Unmarshal(raw, &body) != nil || len(body) == 0 {
		line, _, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n")
		if len(line) > 200 {
			line = line[:200]
		}
		if line == "" {
			line = http.StatusText(status)
		}
		return fmt.Sprintf("HTTP %d: %s", status, line)
	}
	if d, ok := body["detail"]; ok {
		var s string
		if json.Unmarshal(d, &s) == nil {
			return s
		}
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		if k != "non_field_errors" && k != "code" && k != "detail" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	parts = append(parts, fieldMessages(body["non_field_errors"])...)
	for _, k := range keys {
		for _, m := range fieldMessages(body[k]) {
			parts = append(parts, k+": "+m)
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("HTTP %d: %s", status, http.StatusText(status))
	}
	return strings.Join(parts, "; ")
}

// fieldMessages reads a DRF field error: normally a list of strings, but a
// bare string is tolerated.
func fieldMessages(raw json.RawMessage) []string {
	if raw == nil {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	return []string{string(raw)}
}

// register creates an account.
func (c *apiClient) register(ctx context.Context, email, password, nickname string) error {
	in := map[string]string{
		"email": email, "password1": password, "password2": password, "nickname": nickname,
	}
	_, err := c.do(ctx, http.MethodPost, "/user/v1/register/", in, nil)
	return err
}

// login authenticates and keeps the credentials, so that an access token
// that expires during a long session can be replaced without the user.
func (c *apiClient) login(ctx context.Context, email, password string) error {
	var out struct {
		Access  string  `json:"access"`
		Refresh string  `json:"refresh"`
		User    apiUser `json:"user"`
	}
	c.access = ""
	in := map[string]string{"email": email, "password": password}
	if _, err := c.do(ctx, http.MethodPost, "/user/v1/login/", in, &out); err != nil {
		return fmt.Errorf("login failed: %w", err)
	}
	if out.Access == "" {
		return errors.New("login failed: the server sent no access token")
	}
	c.email, c.pass = email, password
	c.access, c.refresh, c.user, c.accessAt = out.Access, out.Refresh, out.User, time.Now()
	return nil
}

// renewAccess gets a fresh access token: from the refresh token when it is
// still good, otherwise by logging in again with the kept credentials.
func (c *apiClient) renewAccess(ctx context.Context) error {
	if c.refresh != "" {
		var out struct {
			Access string `json:"access"`
		}
		c.access = ""
		in := map[string]string{"refresh": c.refresh}
		if _, err := c.do(ctx, http.MethodPost, "/user/v1/token/refresh/", in, &out); err == nil && out.Access != "" {
			c.access, c.accessAt = out.Access, time.Now()
			return nil
		}
	}
	return c.login(ctx, c.email, c.pass)
}

func (c *apiClient) listRooms(ctx context.Context) ([]apiRoom, error) {
	var rooms []apiRoom
	if _, err := c.do(ctx, http.MethodGet, "/chat/v1/room/", nil, &rooms); err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	return rooms, nil
}

func (c *apiClient) createRoom(ctx context.Context, name string) (apiRoom, error) {
	var room apiRoom
	in := map[string]string{"name": name}
	if _, err := c.do(ctx, http.MethodPost, "/chat/v1/room/", in, &room); err != nil {
		return room, fmt.Errorf("create room: %w", err)
	}
	return room, nil
}

// roomDetail returns the room with its recent messages and who is online.
func (c *apiClient) roomDetail(ctx context.Context, id int64) (apiRoom, error) {
	var room apiRoom
	path := "/chat/v1/room/" + strconv.FormatInt(id, 10) + "/"
	if _, err := c.do(ctx, http.MethodGet, path, nil, &room); err != nil {
		return room, fmt.Errorf("room %d: %w", id, err)
	}
	return room, nil
}

// postMessage sends one message over REST and returns the server's JSON.
func (c *apiClient) postMessage(ctx context.Context, room int64, text string) ([]byte, error) {
	in := map[string]any{"message": text, "room": room}
	raw, err := c.do(ctx, http.MethodPost, "/chat/v1/message/", in, nil)
	if err != nil {
		return nil, fmt.Errorf("send failed: %w", err)
	}
	return raw, nil
}

// openDirect opens (or finds) the direct room of the user and another.
func (c *apiClient) openDirect(ctx context.Context, user int64) (apiRoom, error) {
	var room apiRoom
	if _, err := c.do(ctx, http.MethodPost, "/chat/v1/room/direct/", map[string]int64{"user": user}, &room); err != nil {
		return room, fmt.Errorf("direct room: %w", err)
	}
	return room, nil
}

// editMessage replaces a message's text.
func (c *apiClient) editMessage(ctx context.Context, id int64, text string) error {
	_, err := c.do(ctx, http.MethodPatch, "/chat/v1/message/"+strconv.FormatInt(id, 10)+"/", map[string]string{"message": text}, nil)
	if err != nil {
		return fmt.Errorf("edit: %w", err)
	}
	return nil
}

// deleteMessage deletes a message (it becomes a tombstone).
func (c *apiClient) deleteMessage(ctx context.Context, id int64) error {
	if _, err := c.do(ctx, http.MethodDelete, "/chat/v1/message/"+strconv.FormatInt(id, 10)+"/", nil, nil); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

// resolveRoom returns the room to use: the one asked for, or the server's
// first room, which is what clients of the original service do.
func (c *apiClient) resolveRoom(ctx context.Context, id int64) (int64, error) {
	if id > 0 {
		return id, nil
	}
	rooms, err := c.listRooms(ctx)
	if err != nil {
		return 0, err
	}
	if len(rooms) == 0 {
		return 0, errors.New("the server has no rooms: run `livechat client --setup` or pass --room")
	}
	return rooms[0].ID, nil
}

// loginToRoom builds a client for opts, logs in and resolves opts.room:
// what every client mode does first.
func loginToRoom(ctx context.Context, opts clientOptions) (*apiClient, int64, error) {
	c, err := newAPIClient(opts.server)
	if err != nil {
		return nil, 0, err
	}
	if err := c.login(ctx, opts.email, opts.password); err != nil {
		return nil, 0, err
	}
	room, err := c.resolveRoom(ctx, opts.room)
	if err != nil {
		return nil, 0, err
	}
	return c, room, nil
}
