package persistence

import "livechat/persistence/pb"

// Change says what a Record does to its room's messages.
type Change uint8

const (
	// Created stores a new message with its client_id and id indexes.
	Created Change = iota
	// Edited replaces a stored message by its edited state.
	Edited
	// Deleted replaces a stored message by its tombstone, whose text is
	// empty, and marks it deleted.
	Deleted
)

// Record is one entry of a room's log: a new message, or a change to a
// stored one, numbered by the room's rev. A room appends its records in rev
// order and the Writer applies them in that order; it is the seam where a
// replicated log would take the Writer's place.
type Record struct {
	Change Change
	// Message is the message as the record leaves it, with its new rev.
	Message *pb.Message
	// PrevRev is, for a change, the message's rev before it.
	PrevRev int64
}
