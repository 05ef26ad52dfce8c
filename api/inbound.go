package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxClientIDChars caps the optional client_id of a message.
const maxClientIDChars = 64

// maxTokenChars caps the token of auth.refresh: far above any token
// LiveChat or SimpleJWT issues, and it bounds what is verified.
const maxTokenChars = 2048

// Kinds of valid client frames.
const (
	frameMessage = "chat.message"
	frameRefresh = "auth.refresh"
	frameRead    = "chat.read"
	frameTyping  = "chat.typing"
)

// inbound is a client frame as sent: fields are raw so that a wrong type is
// reported precisely instead of failing the whole decode.
type inbound struct {
	Type     json.RawMessage `json:"type"`
	Message  json.RawMessage `json:"message"`
	ClientID json.RawMessage `json:"client_id"`
	Token    json.RawMessage `json:"token"`
	Seq      json.RawMessage `json:"seq"`
	Typing   json.RawMessage `json:"typing"`
}

// inboundFrame is a parsed client frame: a chat.message (text, clientID),
// an auth.refresh (token), a chat.read (seq), a chat.typing (typing), or a
// problem that says what was wrong, for a chat.error frame. Only the fields
// of its kind are set.
type inboundFrame struct {
	kind           string // frameMessage, frameRefresh, frameRead or frameTyping; "" with a problem
	text, clientID string
	token          string
	seq            int64
	typing         bool
	problem        string
}

func refused(problem string) inboundFrame { return inboundFrame{problem: problem} }

// parseInbound validates one text frame.
func parseInbound(data []byte, maxChars int) inboundFrame {
	if !utf8.Valid(data) {
		// RFC 6455 would fail the connection (1007); like every other bad
		// frame it is answered with chat.error instead, and never stored
		// with its bytes replaced.
		return refused("frame is not valid UTF-8")
	}
	var in inbound
	if !scanInbound(data, &in) { // the common frames, in one pass
		// Through a map, not the struct: encoding/json matches struct
		// fields without regard to case, and "MESSAGE" is not "message".
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			if !json.Valid(data) {
				return refused("frame is not valid JSON")
			}
			return refused("frame must be a JSON object")
		}
		in = inbound{Type: fields["type"], Message: fields["message"], ClientID: fields["client_id"],
			Token: fields["token"], Seq: fields["seq"], Typing: fields["typing"]}
	}
	var typ string
	if in.Type == nil {
		return refused("missing type")
	}
	if err := jsonString(in.Type, &typ); err != nil {
		return refused("type must be a string")
	}
	switch typ {
	case frameMessage:
		text, clientID, problem := parseMessage(&in, maxChars)
		if problem != "" {
			return refused(problem)
		}
		return inboundFrame{kind: frameMessage, text: text, clientID: clientID}
	case frameRefresh:
		return parseRefresh(&in)
	case frameRead:
		return parseRead(&in)
	case frameTyping:
		return parseTyping(&in)
	}
	return refused(fmt.Sprintf("unknown type %q", truncate(typ, 40)))
}

// parseRefresh validates auth.refresh: a token that is a non-empty string.
// Whether it is a valid token of the socket's user is checked later.
func parseRefresh(in *inbound) inboundFrame {
	var token string
	if in.Token == nil || string(in.Token) == "null" {
		return refused("auth.refresh: missing token")
	}
	if err := jsonString(in.Token, &token); err != nil {
		return refused("auth.refresh: token must be a string")
	}
	if token == "" || len(token) > maxTokenChars {
		return refused(fmt.Sprintf("auth.refresh: token must have 1 to %d characters", maxTokenChars))
	}
	return inboundFrame{kind: frameRefresh, token: token}
}

// parseRead validates chat.read: seq is a JSON integer ≥ 0. Whether it is
// within the room is the room's to check.
func parseRead(in *inbound) inboundFrame {
	seq, err := strconv.ParseInt(string(in.Seq), 10, 64)
	if err != nil || seq < 0 {
		return refused("seq must be a non-negative integer")
	}
	return inboundFrame{kind: frameRead, seq: seq}
}

// parseTyping validates chat.typing: typing is a boolean, true when absent.
func parseTyping(in *inbound) inboundFrame {
	typing := true
	if in.Typing != nil {
		if err := json.Unmarshal(in.Typing, &typing); err != nil || string(in.Typing) == "null" {
			return refused("typing must be a boolean")
		}
	}
	return inboundFrame{kind: frameTyping, typing: typing}
}

// parseMessage validates a chat.message's message and client_id.
func parseMessage(in *inbound, maxChars int) (text, clientID, problem string) {
	if in.Message == nil || string(in.Message) == "null" {
		return "", "", "missing message"
	}
	if err := jsonString(in.Message, &text); err != nil {
		return "", "", "message must be a string"
	}
	if r, ok := loneSurrogate(in.Message); ok {
		return "", "", fmt.Sprintf("message has a lone surrogate (U+%X)", r)
	}
	if strings.IndexByte(text, 0) >= 0 {
		return "", "", "message has a null character"
	}
	if strings.TrimSpace(text) == "" {
		return "", "", "message is empty"
	}
	if n := utf8.RuneCountInString(text); n > maxChars {
		return "", "", fmt.Sprintf("message is longer than %d characters", maxChars)
	}
	if in.ClientID != nil && string(in.ClientID) != "null" {
		if err := jsonString(in.ClientID, &clientID); err != nil {
			return "", "", "client_id must be a string"
		}
		if _, bad := loneSurrogate(in.ClientID); bad || strings.IndexByte(clientID, 0) >= 0 {
			return "", "", "client_id has a null character or a lone surrogate"
		}
		if utf8.RuneCountInString(clientID) > maxClientIDChars {
			return "", "", fmt.Sprintf("client_id is longer than %d characters", maxClientIDChars)
		}
	}
	return text, clientID, ""
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
