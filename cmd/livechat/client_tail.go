package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// errTailTimeout marks the end of a tail by --timeout, to tell it from Ctrl-C.
var errTailTimeout = errors.New("tail: timeout")

// runSend posts one message over REST, for scripts, and prints the message
// the server created as one JSON line.
func runSend(ctx context.Context, opts clientOptions, out io.Writer) error {
	c, room, err := loginToRoom(ctx, opts)
	if err != nil {
		return err
	}
	raw, err := c.postMessage(ctx, room, opts.text)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", jsonLine(raw))
	return err
}

// runTail prints every frame of a room as one JSON line until --count
// frames, --timeout or ctx ends. Reconnects happen as in the interactive
// client, and frames a replay repeats are not printed twice.
func runTail(ctx context.Context, opts clientOptions, out, errw io.Writer) error {
	if opts.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, opts.timeout, errTailTimeout)
		defer cancel()
	}
	c, room, err := loginToRoom(ctx, opts)
	if err != nil {
		return err
	}
	sock := newRoomSocket(c, room, opts.since)
	go sock.run(ctx)
	n := 0
	for ev := range sock.events {
		switch {
		case ev.kind == evFrame && (opts.count == 0 || n < opts.count):
			n++
			if _, err := fmt.Fprintf(out, "%s\n", jsonLine(ev.raw)); err != nil {
				sock.close() // stdout is gone (a closed pipe): nothing to do
			}
			if opts.count > 0 && n >= opts.count {
				sock.close()
			}
		case ev.kind == evDisconnected:
			fmt.Fprintf(errw, "tail: disconnected: %v; retrying in %s\n", ev.err, ev.retryIn)
		}
	}
	if sock.err != nil {
		return sock.err
	}
	if opts.count > 0 && n < opts.count && errors.Is(context.Cause(ctx), errTailTimeout) {
		return fmt.Errorf("tail: timed out after %s with %d of %d frames", opts.timeout, n, opts.count)
	}
	return nil
}

// jsonLine makes sure one JSON value takes exactly one line; anything that
// is not JSON is printed as a JSON string rather than breaking the format.
// Characters a terminal would obey are escaped, not dropped: the line
// decodes to what the server sent.
func jsonLine(raw []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return escapeJSONForTerminal(buf.Bytes())
	}
	b, _ := json.Marshal(string(raw))
	return escapeJSONForTerminal(b)
}
