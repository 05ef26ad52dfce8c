package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chzyer/readline"
)

// The demo accounts created by `livechat client --setup` and selected with
// --user 1 / --user 2. They exist so that two terminals can chat within a
// minute of cloning the repository; real use passes --email/--password.
const (
	demoPassword = "testpass123"
	demoRoomName = "데모 방"
)

var demoAccounts = [...]struct{ email, nickname string }{
	{"user1@test.com", "사용자1"},
	{"user2@test.com", "사용자2"},
}

const defaultServerURL = "http://127.0.0.1:8000"

// clientUsage is printed for -h and for argument errors.
const clientUsage = `usage:
  livechat client --setup [--server URL]
  livechat client [--user 1|2 | --email E --password P] [--room ID] [--server URL]
  livechat client send [--room ID] [credentials] [--server URL] TEXT...
  livechat client tail [--room ID] [--since N] [--count N] [--timeout D] [credentials] [--server URL]

Without credentials the demo account user1@test.com is used. Without --room the
first room of the server is used. --password may also come from LIVECHAT_PASSWORD.
In the interactive client, type a line to send it; /help lists the commands
(/dm, /room, /edit, /delete); quit, /quit, Ctrl-C or end of input leaves.
`

// clientIO carries the three streams so that every mode can be driven from tests
// through pipes and buffers instead of the process's own terminal.
type clientIO struct {
	in       io.Reader
	out, err io.Writer
	// tty says whether in is a terminal to edit lines on (the interactive
	// client then shows a prompt).
	tty ttyMode
	// rawOut is out before sanitising, for the prompt's own control
	// sequences; set by clientMain.
	rawOut io.Writer
}

// runClient is the entry point of `livechat client`; args are what follows
// the word "client". It returns the process exit code.
func runClient(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// After the first Ctrl-C starts a clean shutdown, a second one should kill
	// the process the usual way rather than be swallowed.
	go func() { <-ctx.Done(); stop() }()
	tty := ttyNone
	if readline.DefaultIsTerminal() {
		tty = ttyReal
	}
	return clientMain(ctx, args, clientIO{in: os.Stdin, out: os.Stdout, err: os.Stderr, tty: tty})
}

// clientMain dispatches to a mode and turns its error into one stderr line.
func clientMain(ctx context.Context, args []string, std clientIO) int {
	// Nothing the server sent reaches the terminal unfiltered: the raw
	// stream takes only the prompt, whose text is sanitised too.
	std.rawOut = std.out
	std.out, std.err = newTerminalWriter(std.out), newTerminalWriter(std.err)
	mode, opts, err := parseClientArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(std.out, clientUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(std.err, "livechat client: %v (see livechat client -h)\n", err)
		return 2
	}
	switch mode {
	case "setup":
		err = runSetup(ctx, opts, std.out)
	case "send":
		err = runSend(ctx, opts, std.out)
	case "tail":
		err = runTail(ctx, opts, std.out, std.err)
	default:
		err = runInteractive(ctx, opts, std)
	}
	if err != nil {
		fmt.Fprintf(std.err, "%s\n", cleanLine(err.Error()))
		return 1
	}
	return 0
}

// clientOptions is everything the flags of every mode can set.
type clientOptions struct {
	server   string
	email    string
	password string
	room     int64 // 0: the server's first room
	since    int64 // tail only; -1: not given
	count    int   // tail only; 0: unlimited
	timeout  time.Duration
	text     string // send only
}

// parseClientArgs recognises the mode (a leading "send" or "tail", or
// --setup) and parses its flags, which may come before or after the text.
func parseClientArgs(args []string) (string, clientOptions, error) {
	mode := "interactive"
	if len(args) > 0 && (args[0] == "send" || args[0] == "tail") {
		mode, args = args[0], args[1:]
	}
	opts := clientOptions{since: -1}
	fs := flag.NewFlagSet("livechat client "+mode, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by clientMain
	fs.StringVar(&opts.server, "server", defaultServerURL, "LiveChat server URL")
	user := fs.String("user", "", "demo account number: 1 or 2")
	fs.StringVar(&opts.email, "email", "", "account email")
	fs.StringVar(&opts.password, "password", "", "account password")
	fs.Int64Var(&opts.room, "room", 0, "room id")
	setup := false
	if mode == "interactive" {
		fs.BoolVar(&setup, "setup", false, "register the demo accounts and room")
	}
	if mode == "tail" {
		fs.Int64Var(&opts.since, "since", -1, "replay stored messages after this seq")
		fs.IntVar(&opts.count, "count", 0, "exit after this many frames")
		fs.DurationVar(&opts.timeout, "timeout", 0, "exit after this long")
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return "", opts, err
	}
	if setup {
		mode = "setup"
	}
	if err := opts.finish(mode, *user, rest); err != nil {
		return "", opts, err
	}
	return mode, opts, nil
}

// parseInterspersed lets positional arguments sit between flags, as in
// `send --room 1 "text" --user 2`, which the flag package alone stops at.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// finish validates the combination of flags and fills in credentials.
func (o *clientOptions) finish(mode, user string, rest []string) error {
	switch {
	case mode == "send":
		o.text = strings.Join(rest, " ")
		if strings.TrimSpace(o.text) == "" {
			return errors.New("send: missing message text")
		}
	case len(rest) > 0:
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	if o.room < 0 {
		return fmt.Errorf("invalid --room %d", o.room)
	}
	if o.count < 0 || o.timeout < 0 {
		return errors.New("--count and --timeout must not be negative")
	}
	if mode == "setup" {
		return nil
	}
	return o.resolveCredentials(user)
}

// resolveCredentials turns --user or --email/--password into an email and
// password, defaulting to demo account 1 so that `tail` works bare.
func (o *clientOptions) resolveCredentials(user string) error {
	if user != "" && o.email != "" {
		return errors.New("use either --user or --email, not both")
	}
	if o.email != "" {
		if o.password == "" {
			o.password = os.Getenv("LIVECHAT_PASSWORD")
		}
		if o.password == "" {
			return errors.New("--password is required with --email (or set LIVECHAT_PASSWORD)")
		}
		return nil
	}
	if o.password != "" {
		return errors.New("--password needs --email")
	}
	if user == "" {
		user = "1"
	}
	n, err := strconv.Atoi(user)
	if err != nil || n < 1 || n > len(demoAccounts) {
		return fmt.Errorf("--user must be 1 or 2 (a demo account), got %q", user)
	}
	o.email, o.password = demoAccounts[n-1].email, demoPassword
	return nil
}
