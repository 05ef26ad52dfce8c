package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// maxLineRunes is the server's default message limit. Checking it here tells
// the user at once, instead of a chat.error that names no message.
const maxLineRunes = 4096

// runInteractive is the chat: history first, then live frames printed while
// lines typed on std.in are sent, until quit, end of input or ctx ends.
func runInteractive(ctx context.Context, opts clientOptions, std clientIO) error {
	c, roomID, err := loginToRoom(ctx, opts)
	if err != nil {
		return err
	}
	room, err := c.roomDetail(ctx, roomID)
	if err != nil {
		return err
	}
	p := &chatPrinter{w: std.out, loc: time.Local}
	p.status("room %d %q, you are %s; type /quit to leave", room.ID, cleanLine(room.Name), cleanLine(c.user.Nickname))
	if len(room.Online) > 0 {
		p.status("online: %s", cleanLine(strings.Join(room.Online, ", ")))
	}
	// since starts at the newest message shown, so that the socket replays
	// whatever arrived between this GET and the connection: no gap.
	var since int64
	for _, m := range room.Messages {
		p.message(m.Nickname, m.Message, m.CreatedAt)
		since = max(since, m.Seq)
	}
	sock := newRoomSocket(c, roomID, since)
	go sock.run(ctx)
	in := newLineReader(std.in)
	defer in.stop()
	return chatLoop(sock, in, p)
}

// chatLoop is the interactive session's one goroutine for output: it prints
// socket events and feeds typed lines to the socket. Lines wait in a local
// queue so that printing never stalls behind a send, and vice versa.
func chatLoop(sock *roomSocket, in *lineReader, p *chatPrinter) error {
	var queue []string
	lines, leaving := in.lines, false
	for {
		if leaving && len(queue) == 0 {
			sock.close()
		}
		var outbox chan<- string
		var next string
		if len(queue) > 0 {
			outbox, next = sock.outbox, queue[0]
		}
		select {
		case ev, ok := <-sock.events:
			if !ok {
				return sock.err
			}
			p.event(ev)
		case outbox <- next:
			queue = queue[1:]
		case line, ok := <-lines:
			switch text := strings.TrimRight(line, "\r\n"); {
			case !ok || isQuit(text):
				lines, leaving = nil, true
				if err := in.err; !ok && err != nil {
					p.status("input: %v", err)
				}
			case strings.TrimSpace(text) == "":
			case utf8.RuneCountInString(text) > maxLineRunes:
				p.status("not sent: %d characters, the limit is %d", utf8.RuneCountInString(text), maxLineRunes)
			default:
				queue = append(queue, text)
			}
		}
	}
}

func isQuit(line string) bool {
	switch strings.TrimSpace(line) {
	case "quit", "/quit":
		return true
	}
	return false
}

// lineReader reads stdin on its own goroutine, because a read from a
// terminal cannot be interrupted; stop lets that goroutine exit at the next
// line instead of blocking forever on a send nobody receives.
type lineReader struct {
	lines chan string
	done  chan struct{}
	err   error // set before lines is closed
}

func newLineReader(r io.Reader) *lineReader {
	l := &lineReader{lines: make(chan string), done: make(chan struct{})}
	go l.read(bufio.NewReader(r))
	return l
}

func (l *lineReader) read(br *bufio.Reader) {
	defer close(l.lines)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			select {
			case l.lines <- line:
			case <-l.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.err = err
			}
			return
		}
	}
}

func (l *lineReader) stop() { close(l.done) }

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
	at, err := time.Parse(time.RFC3339Nano, createdAt)
	if err != nil {
		at = time.Now()
	}
	fmt.Fprintf(p.w, "[%s] %s: %s\n", at.In(p.loc).Format("15:04:05"), cleanLine(nickname), cleanText(text))
}

func (p *chatPrinter) status(format string, args ...any) {
	fmt.Fprintf(p.w, "* "+format+"\n", args...)
}
