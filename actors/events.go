package actors

import "strings"

// Events is the set of optional frame groups a socket asked for with
// `events=` on its handshake. A socket that asked for none receives exactly
// the original protocol's frames.
type Events uint8

// The frame groups of `events=`.
const (
	EventTyping Events = 1 << iota // chat.typing
	EventRead                      // chat.read receipts
	EventEdit                      // chat.message.update, chat.message.delete
	EventMember                    // chat.member.add, chat.member.remove
)

// eventNames maps each name a client may send to its group.
var eventNames = map[string]Events{
	"typing": EventTyping,
	"read":   EventRead,
	"edit":   EventEdit,
	"member": EventMember,
}

// ParseEvents reads the comma-separated value of `events=`. Names this
// server does not know are ignored, so that clients may ask for groups a
// newer server adds.
func ParseEvents(v string) Events {
	var ev Events
	for name := range strings.SplitSeq(v, ",") {
		ev |= eventNames[strings.TrimSpace(name)]
	}
	return ev
}

// Has reports whether every group of want was asked for.
func (ev Events) Has(want Events) bool { return ev&want == want }
