package main

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/chzyer/readline"
)

// ttyMode says how the interactive client reads its input.
type ttyMode int

const (
	// ttyNone reads lines from a pipe or file: no prompt, no line editing,
	// and nothing to tell about typing until a line is complete.
	ttyNone ttyMode = iota
	// ttyReal edits lines on the process's terminal, in raw mode.
	ttyReal
	// ttyEmulated edits lines as on a terminal but over the given streams,
	// without touching any terminal's mode: what tests drive.
	ttyEmulated
)

// chatInput is where the interactive client reads what the user types.
type chatInput interface {
	// lines delivers each complete line, and is closed at the end of input.
	lines() <-chan string
	// edits reports, after each key, whether the line being edited holds
	// text; nil when the input cannot tell (a pipe).
	edits() <-chan bool
	// err is what ended the input (nil for a plain end), once lines closed.
	err() error
	// output is where the chat is printed: with a prompt, the writes go
	// above it and the prompt is redrawn under them.
	output() io.Writer
	// setStatus shows a short status (who is typing) beside the prompt,
	// or as a line on a pipe; "" clears it.
	setStatus(status string)
	stop()
}

// newChatInput picks the input for mode. out must be the raw output: the
// prompt's control sequences are the client's own, and what the server
// sent is sanitised on its way through output().
func newChatInput(mode ttyMode, in io.Reader, out io.Writer) (chatInput, error) {
	if mode == ttyNone {
		return newLineReader(in, out), nil
	}
	return newPromptReader(mode, in, out)
}

// chatPrompt is the prompt while nobody else is typing.
const chatPrompt = "> "

// promptReader edits lines with readline: cursor keys, history, and a
// prompt that incoming messages do not break (readline redraws it, with
// the line being typed, under every write through its Stdout).
type promptReader struct {
	rl      *readline.Instance
	stdin   *readline.CancelableStdin
	out     io.Writer // sanitising, through rl.Stdout()
	lineCh  chan string
	editCh  chan bool
	done    chan struct{}
	stopped sync.Once
	readErr error
}

func newPromptReader(mode ttyMode, in io.Reader, out io.Writer) (*promptReader, error) {
	p := &promptReader{lineCh: make(chan string), editCh: make(chan bool, 1), done: make(chan struct{})}
	p.stdin = readline.NewCancelableStdin(in)
	cfg := &readline.Config{
		Prompt:                 chatPrompt,
		Stdin:                  p.stdin,
		Stdout:                 out,
		Stderr:                 out,
		HistoryLimit:           200,
		DisableAutoSaveHistory: false,
		UniqueEditLine:         true, // the line comes back as the server's echo
		Listener:               readline.FuncListener(p.onKey),
	}
	if mode == ttyEmulated {
		cfg.FuncIsTerminal = func() bool { return true }
		cfg.FuncMakeRaw = func() error { return nil }
		cfg.FuncExitRaw = func() error { return nil }
		cfg.FuncGetWidth = func() int { return 100 }
		cfg.FuncOnWidthChanged = func(func()) {}
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, err
	}
	p.rl, p.out = rl, newTerminalWriter(rl.Stdout())
	go p.read()
	return p, nil
}

// onKey runs on readline's goroutine after every key: it passes on
// whether the line holds text, the latest state replacing an unread one.
func (p *promptReader) onKey(line []rune, pos int, _ rune) ([]rune, int, bool) {
	typing := strings.TrimSpace(string(line)) != ""
	select {
	case <-p.editCh:
	default:
	}
	select {
	case p.editCh <- typing:
	default:
	}
	return nil, 0, false
}

func (p *promptReader) read() {
	defer close(p.lineCh)
	for {
		line, err := p.rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) || errors.Is(err, io.EOF) {
			return // Ctrl-C and Ctrl-D leave, as /quit does
		}
		if err != nil {
			p.readErr = err
			return
		}
		select {
		case p.lineCh <- line:
		case <-p.done:
			return
		}
	}
}

func (p *promptReader) lines() <-chan string { return p.lineCh }
func (p *promptReader) edits() <-chan bool   { return p.editCh }
func (p *promptReader) err() error           { return p.readErr }
func (p *promptReader) output() io.Writer    { return p.out }

func (p *promptReader) setStatus(status string) {
	prompt := chatPrompt
	if status != "" {
		prompt = "(" + cleanLine(status) + ") " + chatPrompt
	}
	p.rl.SetPrompt(prompt)
	p.rl.Refresh()
}

func (p *promptReader) stop() {
	p.stopped.Do(func() {
		close(p.done)
		// readline closes the reader it wraps around ours, not ours: a
		// read blocked in ours would keep it (and raw mode) forever.
		_ = p.stdin.Close()
		_ = p.rl.Close()
	})
}

// lineReader reads stdin on its own goroutine, because a read from a
// terminal cannot be interrupted; stop lets that goroutine exit at the next
// line instead of blocking forever on a send nobody receives.
type lineReader struct {
	lineCh     chan string
	done       chan struct{}
	out        io.Writer
	readErr    error // set before lines is closed
	lastStatus string
}

func newLineReader(r io.Reader, out io.Writer) *lineReader {
	l := &lineReader{lineCh: make(chan string), done: make(chan struct{}), out: newTerminalWriter(out)}
	go l.read(bufio.NewReader(r))
	return l
}

func (l *lineReader) read(br *bufio.Reader) {
	defer close(l.lineCh)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			select {
			case l.lineCh <- strings.TrimRight(line, "\r\n"):
			case <-l.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				l.readErr = err
			}
			return
		}
	}
}

func (l *lineReader) lines() <-chan string { return l.lineCh }
func (l *lineReader) edits() <-chan bool   { return nil }
func (l *lineReader) err() error           { return l.readErr }
func (l *lineReader) output() io.Writer    { return l.out }

// setStatus prints a status line when it changes to something to say.
func (l *lineReader) setStatus(status string) {
	if status != "" && status != l.lastStatus {
		_, _ = io.WriteString(l.out, "* "+cleanLine(status)+"\n")
	}
	l.lastStatus = status
}

func (l *lineReader) stop() { close(l.done) }
