package persistence

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"livechat/persistence/pb"
)

// ReadMarker is a request to move user's read marker in room up to Seq.
// After MoveReadMarkers, Seq holds the marker as stored (possibly higher
// than asked), or -1 when the user is not a member of the room, and Moved
// tells whether this request raised it.
type ReadMarker struct {
	Room, User, Seq int64
	Moved           bool
	// ByPost says the user's own post moved it: in a cluster, the other
	// nodes send no inbox.read for it (the inbox.message says it).
	ByPost bool
}

// MoveReadMarkers raises each member's read marker (Member.last_read_seq)
// to its Seq, in one transaction. A marker only moves forward; a lower Seq
// changes nothing. A user who is not a member (never was, or was removed
// meanwhile) is skipped, so that a marker write never brings a removed
// membership back.
func (s *Store) MoveReadMarkers(moves []ReadMarker) error {
	if len(moves) == 0 {
		return nil
	}
	if err := s.space.admit(smallRecord, true); err != nil {
		return fmt.Errorf("move read markers: %w", err)
	}
	if s.repl != nil {
		cmd := &pb.MoveMarkers{Markers: make([]*pb.Marker, len(moves))}
		for i, mv := range moves {
			cmd.Markers[i] = &pb.Marker{Room: mv.Room, User: mv.User, Seq: mv.Seq, ByPost: mv.ByPost}
		}
		v, err := s.propose("move read markers", &pb.Command{Op: &pb.Command_MoveMarkers{MoveMarkers: cmd}})
		if err != nil {
			return err
		}
		copy(moves, v.([]ReadMarker))
		return nil
	}
	return s.moveReadMarkersLocal(moves)
}

// moveReadMarkersLocal is MoveReadMarkers in this store.
func (s *Store) moveReadMarkersLocal(moves []ReadMarker) error {
	asked := make([]int64, len(moves))
	for i := range moves {
		asked[i] = moves[i].Seq
	}
	err := s.cache.updateMarkers(moves, func() error {
		return s.update(func(txn *badger.Txn) error {
			for i := range moves {
				mv := &moves[i]
				mv.Seq, mv.Moved = asked[i], false // a retried transaction starts over
				m := &pb.Member{}
				err := getProto(txn, memberKey(mv.Room, mv.User), m)
				if errors.Is(err, ErrNotFound) {
					mv.Seq = -1
					continue
				}
				if err != nil {
					return err
				}
				if m.LastReadSeq >= mv.Seq {
					mv.Seq = m.LastReadSeq
					continue
				}
				m.LastReadSeq, mv.Moved = mv.Seq, true
				if err := setProto(txn, memberKey(mv.Room, mv.User), m); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("move read markers: %w", err)
	}
	return nil
}

// LastMessage returns the message of room with the highest seq, in its
// current state, or nil when the room has none.
func (s *Store) LastMessage(room int64) (*pb.Message, error) {
	msgs, err := s.scanMessages(room, int64(maxSeq), true, 1)
	if err != nil || len(msgs) == 0 {
		return nil, err
	}
	return msgs[0], nil
}

// updateMarkers runs an update of read markers, then evicts the cached
// memberships it moved.
func (c *recordCache) updateMarkers(moves []ReadMarker, update func() error) error {
	err := update()
	c.mu.Lock()
	c.memberWrites++
	for _, mv := range moves {
		c.members.Delete(memberKeyOf{mv.Room, mv.User})
	}
	c.mu.Unlock()
	return err
}
