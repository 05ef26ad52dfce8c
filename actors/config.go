package actors

import (
	"log/slog"
	"time"

	"livechat/persistence"
)

// Config configures the actor system. Zero fields take the defaults noted.
type Config struct {
	// Store is the database. Required.
	Store *persistence.Store
	// Writer makes messages durable. Required.
	Writer *persistence.Writer
	// Bus carries rooms' ephemeral events between cluster nodes (presence,
	// typing, receipts, membership frames). Nil on a single node.
	Bus Bus
	// Logger for actor events. Default slog.Default().
	Logger *slog.Logger
	// RequestTimeout bounds a request from an edge (REST handler) to an
	// actor. Default 10s: far above normal latency, so a timeout means
	// overload or a fault, never a slow fsync.
	RequestTimeout time.Duration
	// RoomIdleTimeout passivates a room with no sockets and no traffic for
	// between one and two of these. Default 2m.
	RoomIdleTimeout time.Duration
	// RecentMessages is how many delivered messages a room keeps in memory
	// (encoded) for room details and reconnects. Default 256.
	RecentMessages int
	// RecentBytes bounds the memory held by every room's recent messages
	// together. Past it, a room that delivers a message trims its own ring
	// to DetailMessages (what a room detail needs); reconnects it no longer
	// covers read the store. Default 64 MiB.
	RecentBytes int64
	// DetailMessages is how many recent messages the room detail returns.
	// Default 50 (PROTOCOL.md).
	DetailMessages int
	// StrikeBurst is how many rejected (invalid) frames a socket may send
	// before it is closed with 1008; one strike is forgiven per second.
	// Default 10. (The message rate is per user and applied in package api,
	// before a message reaches its session.)
	StrikeBurst int
	// BacklogChunk is how many stored messages a reconnect reads at a time.
	// Default 256.
	BacklogChunk int
	// PresenceGrace is how long a user whose last socket in a room closed
	// stays online there: a socket opening within it sends neither leave
	// nor join, and each user causes at most one join and one leave per
	// grace in a room. Default 1s.
	PresenceGrace time.Duration
	// ReceiptInterval is the shortest time between two chat.read receipt
	// frames of a room: markers that move meanwhile wait for the next one.
	// Default 1s.
	ReceiptInterval time.Duration
	// MaxRoomMembers caps the members of a room; adding one more fails
	// with ErrRoomFull. Default 10000.
	MaxRoomMembers int
	// MaxHeldBytes caps the live frames a room holds for a socket while
	// its reconnect backlog is sent (they follow the backlog); past it the
	// socket is closed as a slow consumer (4008). The server passes its
	// outbound limit. Default 1 MiB.
	MaxHeldBytes int
	// TypingTimeout is how long a typing indicator lasts without a
	// refresh; its typing:false follows within a second of it. Default 5s.
	TypingTimeout time.Duration
	// Refused counts a socket's request turned away by a limit, by the
	// kind livechat_refusals_total labels it with ("storage_full"). The
	// REST front end counts its own. Default: not counted.
	Refused func(kind string)
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Refused == nil {
		c.Refused = func(string) {}
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.RoomIdleTimeout <= 0 {
		c.RoomIdleTimeout = 2 * time.Minute
	}
	if c.RecentMessages <= 0 {
		c.RecentMessages = 256
	}
	if c.RecentBytes <= 0 {
		c.RecentBytes = 64 << 20
	}
	if c.DetailMessages <= 0 {
		c.DetailMessages = 50
	}
	c.RecentMessages = max(c.RecentMessages, c.DetailMessages)
	if c.StrikeBurst <= 0 {
		c.StrikeBurst = 10
	}
	if c.BacklogChunk <= 0 {
		c.BacklogChunk = 256
	}
	if c.MaxRoomMembers <= 0 {
		c.MaxRoomMembers = 10000
	}
	if c.MaxHeldBytes <= 0 {
		c.MaxHeldBytes = 1 << 20
	}
	if c.PresenceGrace <= 0 {
		c.PresenceGrace = time.Second
	}
	if c.ReceiptInterval <= 0 {
		c.ReceiptInterval = time.Second
	}
	if c.TypingTimeout <= 0 {
		c.TypingTimeout = 5 * time.Second
	}
}
