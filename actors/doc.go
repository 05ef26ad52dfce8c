// Package actors is LiveChat's actor system (protoactor-go): one actor per
// room, one per WebSocket session, a hub that activates and passivates rooms,
// and a user directory for account writes.
//
// Concurrency contract: all state of a room (next seq, members, presence,
// typing, recent messages) is owned by its room actor and changed only through its
// mailbox, which makes seq gap-free and delivery order identical for every
// member. No actor blocks in Receive: disk reads and writes run in goroutines
// (or in the persistence writer) and report back as messages to self.
// Outgoing frames are encoded once per message and the same bytes are handed
// to every member's Sink, which never blocks.
//
// The edges (package api) talk to the system through Engine: synchronous
// requests with timeouts for REST, and Session handles for sockets.
package actors
