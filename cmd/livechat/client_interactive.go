package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLineRunes is the server's default message limit. Checking it here tells
// the user at once, instead of a chat.error that names no message.
const maxLineRunes = 4096

// typingEvery is how often the client refreshes its typing indicator
// while the user types: at most once a second, as the protocol asks.
const typingEvery = time.Second

// clientOptIn is the events= groups the interactive client shows.
const clientOptIn = "typing,read,edit"

// runInteractive is the chat: history first, then live frames printed while
// lines typed on std.in are sent, until quit, end of input or ctx ends.
// /dm and /room move to another room on the same input.
func runInteractive(ctx context.Context, opts clientOptions, std clientIO) error {
	c, roomID, err := loginToRoom(ctx, opts)
	if err != nil {
		return err
	}
	in, err := newChatInput(std.tty, std.in, std.rawOut)
	if err != nil {
		return err
	}
	defer in.stop()
	p := &chatPrinter{w: in.output(), loc: time.Local}
	for {
		next, err := chatInRoom(ctx, c, roomID, in, p)
		if err != nil || next == 0 {
			return err
		}
		roomID = next
	}
}

// chatInRoom shows one room and chats there. It returns the next room to
// open, or 0 to leave.
func chatInRoom(ctx context.Context, c *apiClient, roomID int64, in chatInput, p *chatPrinter) (int64, error) {
	room, err := c.roomDetail(ctx, roomID)
	if err != nil {
		return 0, err
	}
	p.status("room %d %q, you are %s; type /help for commands", room.ID, cleanLine(room.Name), cleanLine(c.user.Nickname))
	if len(room.Online) > 0 {
		p.status("online: %s", cleanLine(strings.Join(room.Online, ", ")))
	}
	v := newChatView(p, c.user)
	if room.Peer != nil {
		v.names[room.Peer.ID] = room.Peer.Nickname // receipts name the peer before it writes
	}
	// since starts at the newest message shown, so that the socket replays
	// whatever arrived between this GET and the connection: no gap.
	var since int64
	for _, m := range room.Messages {
		v.history(m)
		since = max(since, m.Seq)
	}
	sock := newRoomSocket(c, roomID, since)
	sock.optIn = clientOptIn
	sockCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go sock.run(sockCtx)
	l := &chatLoop{sock: sock, in: in, v: v, api: c, ctx: ctx}
	err = l.run()
	in.setStatus("")
	return l.next, err
}

// chatLoop is the interactive session's one goroutine for output: it prints
// socket events and feeds typed lines to the socket. Lines wait in a local
// queue so that printing never stalls behind a send, and vice versa.
type chatLoop struct {
	sock *roomSocket
	in   chatInput
	v    *chatView
	api  *apiClient
	ctx  context.Context

	next       int64     // the room to open after this one, from /dm or /room
	typingSent time.Time // when chat.typing true was last sent; zero when not typing
	readSeq    int64     // the highest seq marked read
}

func (l *chatLoop) run() error {
	var queue []string
	lines, edits, leaving := l.in.lines(), l.in.edits(), false
	tick := time.NewTicker(time.Second) // expires others' typing indicators
	defer tick.Stop()
	for {
		if leaving && len(queue) == 0 {
			l.sock.close()
		}
		var outbox chan<- string
		var next string
		if len(queue) > 0 {
			outbox, next = l.sock.outbox, queue[0]
		}
		select {
		case ev, ok := <-l.sock.events:
			if !ok {
				return l.sock.err
			}
			l.onEvent(ev)
		case outbox <- next:
			queue = queue[1:]
		case now := <-tick.C:
			if l.v.expireTyping(now) {
				l.in.setStatus(l.v.typingStatus())
			}
		case typing := <-edits:
			l.onEdit(typing)
		case line, ok := <-lines:
			if !ok {
				lines, edits, leaving = nil, nil, true
				if err := l.in.err(); err != nil {
					l.v.p.status("input: %v", err)
				}
				continue
			}
			text, leave := l.onLine(line)
			if leave {
				lines, edits, leaving = nil, nil, true
			} else if text != "" {
				queue = append(queue, text)
			}
		}
	}
}

func (l *chatLoop) onEvent(ev socketEvent) {
	if ev.kind != evFrame {
		l.v.p.event(ev)
		return
	}
	changed, othersSeq := l.v.frame(ev.frame)
	if changed {
		l.in.setStatus(l.v.typingStatus())
	}
	if othersSeq > l.readSeq && !l.v.noRead && !l.v.notMember {
		// Shown is read: the marker follows what the user has seen.
		l.readSeq = othersSeq
		seq := othersSeq
		l.sock.signal(signalFrame{Type: "chat.read", Seq: &seq})
	}
}

// onEdit tells the room that the user is typing (refreshed at most once
// a second) or stopped, by emptying the line.
func (l *chatLoop) onEdit(typing bool) {
	if l.v.noTyping {
		return
	}
	switch {
	case typing && time.Since(l.typingSent) >= typingEvery:
		l.typingSent = time.Now()
		l.sock.signal(signalFrame{Type: "chat.typing", Typing: &typing})
	case !typing && !l.typingSent.IsZero():
		l.typingSent = time.Time{}
		l.sock.signal(signalFrame{Type: "chat.typing", Typing: &typing})
	}
}

// onLine handles a typed line: a message to send (returned), a command,
// or leaving.
func (l *chatLoop) onLine(line string) (text string, leave bool) {
	text = strings.TrimRight(line, "\r\n")
	wasTyping := !l.typingSent.IsZero()
	l.typingSent = time.Time{} // a message ends the indicator; a command does not
	switch {
	case isQuit(text):
		return "", true
	case strings.TrimSpace(text) == "":
		return "", false
	case strings.HasPrefix(text, "//"):
		text = text[1:] // a message that starts with a slash
	case strings.HasPrefix(text, "/"):
		if wasTyping && !l.v.noTyping {
			stopped := false
			l.sock.signal(signalFrame{Type: "chat.typing", Typing: &stopped})
		}
		return "", l.command(text)
	}
	if utf8.RuneCountInString(text) > maxLineRunes {
		l.v.p.status("not sent: %d characters, the limit is %d", utf8.RuneCountInString(text), maxLineRunes)
		return "", false
	}
	return text, false
}

func isQuit(line string) bool {
	switch strings.TrimSpace(line) {
	case "quit", "/quit":
		return true
	}
	return false
}

const commandHelp = `commands:
  /dm <user id or email>  open the direct room with that user
  /room <id>              go to another room
  /edit <text>            replace the text of your last message
  /delete                 delete your last message
  /quit                   leave (also quit, Ctrl-C, Ctrl-D)`

// command runs a slash command; it reports whether to leave this room.
func (l *chatLoop) command(line string) bool {
	name, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	p := l.v.p
	var err error
	switch name {
	case "/help":
		for _, h := range strings.Split(commandHelp, "\n") {
			p.status("%s", h)
		}
	case "/dm":
		err = l.openDirect(arg)
	case "/room":
		var id int64
		if _, scanErr := fmt.Sscan(arg, &id); scanErr != nil || id <= 0 {
			err = errors.New("usage: /room <id>")
		} else {
			l.next = id
		}
	case "/edit":
		err = l.editLast(arg)
	case "/delete":
		err = l.deleteLast()
	default:
		err = fmt.Errorf("unknown command %s (try /help); start a message with // to send a slash", cleanLine(name))
	}
	if err != nil {
		p.status("%s", cleanLine(err.Error()))
	}
	return l.next != 0
}

// openDirect opens the direct room with a user given by id or by the
// email of someone whose messages this client has seen.
func (l *chatLoop) openDirect(who string) error {
	var id int64
	if _, err := fmt.Sscan(who, &id); err != nil || id <= 0 || fmt.Sprint(id) != who {
		known, ok := l.v.emails[strings.ToLower(who)]
		if !ok {
			return errors.New("usage: /dm <user id or email>; an email works once that user's messages were seen here")
		}
		id = known
	}
	room, err := l.api.openDirect(l.ctx, id)
	if err != nil {
		return err
	}
	l.next = room.ID
	return nil
}

func (l *chatLoop) editLast(text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("usage: /edit <new text>")
	}
	last, ok := l.v.lastOwn()
	if !ok {
		return errors.New("nothing to edit: you have no message in this room")
	}
	return l.api.editMessage(l.ctx, last.id, text)
}

func (l *chatLoop) deleteLast() error {
	last, ok := l.v.lastOwn()
	if !ok {
		return errors.New("nothing to delete: you have no message in this room")
	}
	if err := l.api.deleteMessage(l.ctx, last.id); err != nil {
		return err
	}
	l.v.forgetOwn(last.id) // the next /delete takes the one before
	return nil
}
