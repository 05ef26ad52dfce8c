package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// chatView is what the interactive client knows about the room beyond
// the lines it printed: who is typing, which messages are the user's own
// (for /edit and /delete, and their read receipts), and the names of the
// users it has seen (receipts carry only ids).
type chatView struct {
	p  *chatPrinter
	me apiUser

	names   map[int64]string // user id → nickname, from frames and history
	emails  map[string]int64 // lowercase email → user id, for /dm
	typing  map[int64]typist // others typing now
	own     []ownMessage     // the user's messages in this room, oldest first
	readBy  map[int64]bool   // who was reported as having read the last own message
	senders map[int64]string // message id → nickname, for deletions

	// Optional features the server may lack: an old server answers their
	// frames with "unknown type", after which the client stops sending them.
	noTyping, noRead bool
	// notMember: the server refused a read marker because the user has not
	// joined this public room; posting joins it.
	notMember bool
}

type typist struct {
	nickname string
	until    time.Time
}

type ownMessage struct{ id, seq int64 }

func newChatView(p *chatPrinter, me apiUser) *chatView {
	return &chatView{
		p: p, me: me,
		names: map[int64]string{me.ID: me.Nickname}, emails: map[string]int64{strings.ToLower(me.Email): me.ID},
		typing: map[int64]typist{}, readBy: map[int64]bool{}, senders: map[int64]string{},
	}
}

// mine reports whether a message is the user's own: by sender_id when the
// server sends it, by email otherwise.
func (v *chatView) mine(senderID int64, sender string) bool {
	if senderID != 0 {
		return senderID == v.me.ID
	}
	return strings.EqualFold(sender, v.me.Email)
}

// learn records who sent a message, so that receipts and /dm can name them.
func (v *chatView) learn(id, senderID int64, sender, nickname string) {
	if senderID != 0 {
		v.names[senderID] = nickname
		if sender != "" && !strings.HasPrefix(sender, "user-") {
			v.emails[strings.ToLower(sender)] = senderID
		}
	}
	if len(v.senders) > 10_000 {
		clear(v.senders) // only recent messages get deleted in practice
	}
	v.senders[id] = nickname
}

// history shows a stored message (from the room detail).
func (v *chatView) history(m apiMessage) {
	v.learn(m.ID, m.SenderID, m.Sender, m.Nickname)
	if v.mine(m.SenderID, m.Sender) {
		v.addOwn(m.ID, m.Seq)
	}
	v.p.message(m.Nickname, m.Message, m.CreatedAt)
}

func (v *chatView) addOwn(id, seq int64) {
	v.own = append(v.own, ownMessage{id, seq})
	clear(v.readBy)
}

// lastOwn is the user's latest message that is not deleted, if any.
func (v *chatView) lastOwn() (ownMessage, bool) {
	if len(v.own) == 0 {
		return ownMessage{}, false
	}
	return v.own[len(v.own)-1], true
}

// frame shows a server frame. It reports whether the typing status
// changed, and the seq of a message from someone else (0 otherwise), which
// the caller marks read.
func (v *chatView) frame(f serverFrame) (statusChanged bool, othersSeq int64) {
	switch f.Type {
	case "chat.message":
		v.learn(f.ID, f.SenderID, f.Sender, f.Nickname)
		statusChanged = v.stopTyping(f.SenderID, f.Nickname)
		if v.mine(f.SenderID, f.Sender) {
			v.addOwn(f.ID, f.Seq)
			v.notMember = false // posting made the user a member
		} else {
			othersSeq = f.Seq
		}
		v.p.message(f.Nickname, f.Message, f.CreatedAt)
	case "chat.typing":
		statusChanged = v.onTyping(f)
	case "chat.read":
		v.onRead(f)
	case "chat.message.update":
		v.p.edited(v.senders[f.ID], f.Message, f.EditedAt)
	case "chat.message.delete":
		v.onDelete(f.ID)
	case "chat.error":
		if v.optionalRefused(f) {
			return false, 0
		}
		v.p.frame(f)
	default:
		v.p.frame(f)
	}
	return statusChanged, othersSeq
}

// optionalRefused recognises an older server's answer to an optional
// frame, and stops sending that frame instead of showing the error.
func (v *chatView) optionalRefused(f serverFrame) bool {
	switch {
	case f.ErrorType == "invalid_request" && strings.Contains(f.Message, `"chat.typing"`):
		v.noTyping = true
	case f.ErrorType == "invalid_request" && strings.Contains(f.Message, `"chat.read"`):
		v.noRead = true
	case f.ErrorType == "forbidden" && strings.Contains(f.Message, "not a member"):
		v.notMember = true // a public room's non-member keeps no marker
	default:
		return false
	}
	return true
}

func (v *chatView) onTyping(f serverFrame) bool {
	if f.UserID == v.me.ID || f.UserID == 0 {
		return false
	}
	v.names[f.UserID] = f.Nickname
	if !f.Typing {
		_, was := v.typing[f.UserID]
		delete(v.typing, f.UserID)
		return was
	}
	timeout := time.Duration(f.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	_, was := v.typing[f.UserID]
	v.typing[f.UserID] = typist{nickname: f.Nickname, until: time.Now().Add(timeout)}
	return !was
}

// stopTyping clears the indicator of a message's sender: the message ends
// it without a typing:false.
func (v *chatView) stopTyping(senderID int64, nickname string) bool {
	for id, t := range v.typing {
		if id == senderID || senderID == 0 && t.nickname == nickname {
			delete(v.typing, id)
			return true
		}
	}
	return false
}

// expireTyping drops indicators whose timeout passed without a refresh
// (a typing:false may have been dropped); it reports a change.
func (v *chatView) expireTyping(now time.Time) bool {
	changed := false
	for id, t := range v.typing {
		if now.After(t.until) {
			delete(v.typing, id)
			changed = true
		}
	}
	return changed
}

// typingStatus is "민수 is typing…", "민수 and bob are typing…", or "".
func (v *chatView) typingStatus() string {
	names := make([]string, 0, len(v.typing))
	for _, t := range v.typing {
		names = append(names, cleanLine(t.nickname))
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0] + " is typing…"
	case 2, 3:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are typing…"
	}
	return fmt.Sprintf("%d people are typing…", len(names))
}

// onRead prints who has newly read the user's latest message.
func (v *chatView) onRead(f serverFrame) {
	last, ok := v.lastOwn()
	if !ok {
		return
	}
	var readers []string
	for _, r := range f.Reads {
		if r.UserID == v.me.ID || r.Seq < last.seq || v.readBy[r.UserID] {
			continue
		}
		v.readBy[r.UserID] = true
		name := v.names[r.UserID]
		if name == "" {
			name = "user " + strconv.FormatInt(r.UserID, 10)
		}
		readers = append(readers, cleanLine(name))
	}
	if len(readers) > 0 {
		sort.Strings(readers)
		v.p.status("read by %s", strings.Join(readers, ", "))
	}
}

func (v *chatView) forgetOwn(id int64) {
	for i, o := range v.own {
		if o.id == id {
			v.own = append(v.own[:i], v.own[i+1:]...)
			return
		}
	}
}

func (v *chatView) onDelete(id int64) {
	v.forgetOwn(id)
	if name, ok := v.senders[id]; ok {
		v.p.status("a message by %s was deleted", cleanLine(name))
		return
	}
	v.p.status("a message was deleted")
}

// chatPrinter formats what the interactive client shows, one line per event.
type chatPrinter struct {
	w   io.Writer
	loc *time.Location
}

func (p *chatPrinter) event(ev socketEvent) {
	switch ev.kind {
	case evFrame:
		p.frame(ev.frame)
	case evConnected:
		if ev.reconnect {
			p.status("reconnected")
		} else {
			p.status("connected")
		}
	case evDisconnected:
		p.status("disconnected: %s; retrying in %s", cleanLine(fmt.Sprint(ev.err)), ev.retryIn.Round(100*time.Millisecond))
	case evDropped:
		p.status("not sent: %q: %s", ev.text, cleanLine(fmt.Sprint(ev.err)))
	}
}

// frame prints a server frame; types this client does not know are
// ignored, as the protocol asks of clients.
func (p *chatPrinter) frame(f serverFrame) {
	switch f.Type {
	case "chat.message":
		p.message(f.Nickname, f.Message, f.CreatedAt)
	case "chat.user.join":
		p.status("%s joined", cleanLine(f.Username))
	case "chat.user.leave":
		p.status("%s left", cleanLine(f.Username))
	case "chat.error":
		fmt.Fprintf(p.w, "! error (%s): %s\n", cleanLine(f.ErrorType), cleanLine(f.Message))
	}
}

func (p *chatPrinter) message(nickname, text, createdAt string) {
	fmt.Fprintf(p.w, "[%s] %s: %s\n", p.clock(createdAt), cleanLine(nickname), cleanText(text))
}

// edited prints a message's new text.
func (p *chatPrinter) edited(nickname, text, editedAt string) {
	if nickname == "" {
		nickname = "someone"
	}
	fmt.Fprintf(p.w, "[%s] %s (edited): %s\n", p.clock(editedAt), cleanLine(nickname), cleanText(text))
}

func (p *chatPrinter) clock(at string) string {
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		t = time.Now()
	}
	return t.In(p.loc).Format("15:04:05")
}

func (p *chatPrinter) status(format string, args ...any) {
	fmt.Fprintf(p.w, "* "+format+"\n", args...)
}
