package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/fasthttp/websocket"
)

// PeerCentrifugo is Config.Peer for a Centrifugo server (v5 or v6, its
// JSON client protocol at /connection/websocket): the chat scenarios then
// load it exactly as they load LiveChat (same sockets, pacing, payloads,
// accounting and server sampling), so the two are compared by one tool.
// Each room is a channel; a member connects, subscribes to its room's
// channel and publishes its messages there. The server must let anonymous
// clients connect, subscribe and publish (client.insecure in Centrifugo's
// configuration; README: "Side by side with Centrifugo").
const PeerCentrifugo = "centrifugo"

// Peers lists the servers the bench speaks to besides LiveChat.
var Peers = []string{PeerCentrifugo}

// Command ids of a Centrifugo socket: connect and subscribe are sent at
// open, publishes follow.
const (
	cfConnectID   = 1
	cfSubscribeID = 2
)

// errCentrifugo is an error reply of a Centrifugo server.
var errCentrifugo = errors.New("centrifugo refused")

// centrifugoChannel is the channel of room in run runID.
func centrifugoChannel(runID string, room int64) string {
	return "bench_" + runID + "_" + strconv.FormatInt(room, 10)
}

// peerRooms numbers the rooms of a run against a peer, which needs no
// setup: its channels exist once subscribed to.
func peerRooms(n int) []int64 {
	rooms := make([]int64, n)
	for i := range rooms {
		rooms[i] = int64(i + 1)
	}
	return rooms
}

// openCentrifugo opens a socket to nd, connects and subscribes it to
// room's channel, counting it as open once subscribed.
func (e *environment) openCentrifugo(ctx context.Context, o *opens, nd *node, room int64) (*websocket.Conn, error) {
	ch := centrifugoChannel(e.runID, room)
	return e.openCounted(ctx, o, nd, func(ctx context.Context) (*websocket.Conn, error) {
		c, err := openSocket(ctx, nd.ws, nd.wsBase+"/connection/websocket", "channel "+ch)
		if err != nil {
			return nil, err
		}
		if err := centrifugoJoin(c, ch, time.Now().Add(e.cfg.DialTimeout)); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("subscribe to %s: %w", ch, err)
		}
		return c, nil
	})
}

// centrifugoJoin sends connect and subscribe in one frame, as Centrifugo's
// own clients batch them, and waits for the subscribe reply, answering
// the pings that come before the socket has its reader.
func centrifugoJoin(c *websocket.Conn, ch string, deadline time.Time) error {
	cmd := fmt.Sprintf(`{"id":%d,"connect":{}}`+"\n"+`{"id":%d,"subscribe":{"channel":%q}}`, cfConnectID, cfSubscribeID, ch)
	_ = c.SetWriteDeadline(deadline)
	if err := c.WriteMessage(websocket.TextMessage, []byte(cmd)); err != nil {
		return err
	}
	_ = c.SetReadDeadline(deadline)
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	for subscribed := false; !subscribed; {
		_, b, err := c.ReadMessage()
		if err != nil {
			return err
		}
		for line := range bytes.Lines(b) {
			r, err := scanCentrifugo(line)
			switch {
			case err != nil:
				return err
			case r.err != nil:
				return fmt.Errorf("%w: %s", errCentrifugo, r.err)
			case r.ping:
				if err := c.WriteMessage(websocket.TextMessage, []byte("{}")); err != nil {
					return err
				}
			case r.id == cfSubscribeID:
				subscribed = true
			}
		}
	}
	return nil
}

// publisher wraps each frame a member sends into Centrifugo's publish
// command on the member's channel. Used under its wsock's write lock.
type publisher struct {
	channel string
	id      int64 // the last command id used
	out     []byte
}

// newPublisher publishes on ch; its first command id follows subscribe's.
func newPublisher(ch string) *publisher { return &publisher{channel: ch, id: cfSubscribeID} }

// wrap returns the publish command carrying data (a JSON object), valid
// until the next call.
func (p *publisher) wrap(data []byte) []byte {
	p.id++
	p.out = append(p.out[:0], `{"id":`...)
	p.out = strconv.AppendInt(p.out, p.id, 10)
	p.out = append(p.out, `,"publish":{"channel":"`...)
	p.out = append(p.out, p.channel...)
	p.out = append(p.out, `","data":`...)
	p.out = append(p.out, data...)
	return append(p.out, "}}"...)
}

// cfReply holds what the bench needs of one Centrifugo reply or push.
// Slices alias the input.
type cfReply struct {
	id   int64
	err  []byte // the raw "error" object of a refused command
	data []byte // a push's publication data: the frame a member published
	ping bool   // the empty object: a ping, answered with one
}

// scanCentrifugo reads one reply of a Centrifugo frame (a frame holds one
// or more, one per line).
func scanCentrifugo(b []byte) (cfReply, error) {
	var r cfReply
	b = bytes.TrimSpace(b)
	if string(b) == "{}" {
		r.ping = true
		return r, nil
	}
	if id, ok, err := objectField(b, "id"); err != nil {
		return r, err
	} else if ok {
		r.id, _ = parseUint(id)
	}
	errObj, ok, err := objectField(b, "error")
	if err != nil {
		return r, err
	}
	if ok {
		r.err = errObj
		return r, nil
	}
	push, ok, err := objectField(b, "push")
	if err != nil || !ok {
		return r, err
	}
	if pub, ok, err := objectField(push, "pub"); err != nil || !ok {
		return r, err
	} else if r.data, _, err = objectField(pub, "data"); err != nil {
		return r, err
	}
	return r, nil
}

// objectField returns the raw value of key in the JSON object b, whether
// it is there, and an error when b is not an object. Keys are compared as
// written (Centrifugo's have no escapes).
func objectField(b []byte, key string) (val []byte, found bool, err error) {
	err = walkObject(b, func(k []byte, _ bool, i int) (int, error) {
		end, err := skipValue(b, i)
		if err == nil && !found && string(k) == key {
			val, found = b[i:end], true
		}
		return end, err
	})
	return val, found, err
}
