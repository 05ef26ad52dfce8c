package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxClientIDChars caps the optional client_id of a message.
const maxClientIDChars = 64

// inbound is a client frame as sent: fields are raw so that a wrong type is
// reported precisely instead of failing the whole decode.
type inbound struct {
	Type     json.RawMessage `json:"type"`
	Message  json.RawMessage `json:"message"`
	ClientID json.RawMessage `json:"client_id"`
}

// parseInbound validates one text frame. problem is empty for a valid
// chat.message and otherwise says what was wrong, for a chat.error frame.
func parseInbound(data []byte, maxChars int) (text, clientID, problem string) {
	if !utf8.Valid(data) {
		// RFC 6455 would fail the connection (1007); like every other bad
		// frame it is answered with chat.error instead, and never stored
		// with its bytes replaced.
		return "", "", "frame is not valid UTF-8"
	}
	var in inbound
	if err := json.Unmarshal(data, &in); err != nil {
		if !json.Valid(data) {
			return "", "", "frame is not valid JSON"
		}
		return "", "", "frame must be a JSON object"
	}
	var typ string
	if in.Type == nil {
		return "", "", "missing type"
	}
	if err := json.Unmarshal(in.Type, &typ); err != nil {
		return "", "", "type must be a string"
	}
	if typ != "chat.message" {
		return "", "", fmt.Sprintf("unknown type %q", truncate(typ, 40))
	}
	if in.Message == nil || string(in.Message) == "null" {
		return "", "", "missing message"
	}
	if err := json.Unmarshal(in.Message, &text); err != nil {
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
		if err := json.Unmarshal(in.ClientID, &clientID); err != nil {
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
