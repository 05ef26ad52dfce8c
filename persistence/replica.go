package persistence

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// Replicator carries a store's writes through a replicated log (cluster
// mode). The store proposes a write as a command; every node's store
// applies the log's commands in log order (ApplyEntry), so every replica
// decides each write the same way.
type Replicator interface {
	// Propose appends cmd to the log and waits until this node has applied
	// it, returning what applying it returned.
	Propose(cmd *pb.Command) (any, error)
	// Sync waits until this node has applied every command the log held
	// when it was called: a read after it sees every write answered before.
	Sync() error
}

// Replicate makes s a replica: from now on its writes of accounts and
// tokens go through r. Call it before serving.
func (s *Store) Replicate(r Replicator) { s.repl = r }

// Sync waits, on a replica, until it has applied every write the cluster
// answered before the call; a single node returns at once.
func (s *Store) Sync() error {
	if s.repl == nil {
		return nil
	}
	return s.repl.Sync()
}

// caughtUp reads with read and, on a replica that finds nothing, reads
// again once it has applied what the cluster answered before: a room, an
// account or a membership another node just created may not have reached
// this node yet.
func caughtUp[T any](s *Store, read func() (T, error)) (T, error) {
	v, err := read()
	if s.repl == nil || !errors.Is(err, ErrNotFound) {
		return v, err
	}
	if serr := s.repl.Sync(); serr != nil {
		return v, err
	}
	return read()
}

// LogPosition is a command's place in the log: its entry's sequence
// number and its index in the entry.
type LogPosition struct {
	Seq   uint64
	Index int
}

// Applied is the position of the last command this store applied that
// wrote something (zero before any): a replica resumes the log there,
// skipping that entry's commands up to Index.
func (s *Store) Applied() (LogPosition, error) {
	var pos LogPosition
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(keyApplied)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(b []byte) error {
			if len(b) != 16 {
				return fmt.Errorf("applied position: %d bytes", len(b))
			}
			pos = LogPosition{Seq: binary.BigEndian.Uint64(b), Index: int(binary.BigEndian.Uint64(b[8:]))}
			return nil
		})
	})
	if err != nil {
		return pos, fmt.Errorf("persistence: applied position: %w", err)
	}
	return pos, nil
}

// applying is the position of the command being applied, stamped into
// every transaction it commits (see update), so that a replica's state and
// its place in the log never disagree after a crash.
type applying struct{ p atomic.Pointer[LogPosition] }

func (a *applying) stamp(txn *badger.Txn) error {
	pos := a.p.Load()
	if pos == nil {
		return nil
	}
	b := binary.BigEndian.AppendUint64(nil, pos.Seq)
	return txn.Set(keyApplied, binary.BigEndian.AppendUint64(b, uint64(pos.Index)))
}

// Outcome is what applying one command returned.
type Outcome struct {
	Value any
	Err   error
}

// ApplyEntry applies the commands of the log entry at seq, in order,
// skipping those at or before skip (a position already applied). local
// says this run of this node proposed the entry (its own answers announce
// what it changed; another node's commands are announced through the
// observer). A command the state refuses (an email taken) is an Outcome
// error, the same on every replica; an error returned means this replica
// could not apply the entry (its disk failed) and must stop, since it
// would diverge.
func (s *Store) ApplyEntry(seq uint64, e *pb.Entry, skip LogPosition, local bool) ([]Outcome, error) {
	outs := make([]Outcome, len(e.Commands))
	for i, c := range e.Commands {
		if seq < skip.Seq || (seq == skip.Seq && i <= skip.Index) {
			continue // applied before a restart: no one waits for it
		}
		v, err := s.applyAndTell(seq, i, c, local)
		if err != nil && !refusal(err) {
			return nil, fmt.Errorf("persistence: apply log entry %d command %d: %w", seq, i, err)
		}
		outs[i] = Outcome{Value: v, Err: err}
	}
	return outs, nil
}

// applyAndTell applies command i of the log entry at seq and tells the
// observer what it changed, in one step for BetweenApplies.
func (s *Store) applyAndTell(seq uint64, i int, c *pb.Command, local bool) (any, error) {
	s.told.Lock()
	defer s.told.Unlock()
	s.applying.p.Store(&LogPosition{Seq: seq, Index: i})
	v, err := s.apply(c)
	s.applying.p.Store(nil)
	if o := s.observer.get(); err == nil && o != nil {
		if room := membersOf(c); room != 0 {
			o.MembersChanged(room)
		}
		if up, ok := c.Op.(*pb.Command_UpdateUser); ok {
			o.UserChanged(up.UpdateUser.User)
		}
		if !local {
			tellRemote(o, c, v)
		}
	}
	return v, err
}

// tellRemote tells o what another node's command c, applied with
// outcome v, changed for users who may have inbox sockets here: the
// memberships it began or ended, and the read markers it moved.
func tellRemote(o LogObserver, c *pb.Command, v any) {
	switch op := c.Op.(type) {
	case *pb.Command_CreateRoom:
		r := op.CreateRoom.Room
		o.MembershipsChanged(r.Id, append([]int64{r.Owner}, op.CreateRoom.Members...), nil)
	case *pb.Command_OpenDirect:
		if d := v.(directOpened); d.created {
			o.MembershipsChanged(d.room.Id, []int64{op.OpenDirect.A, op.OpenDirect.B}, nil)
		}
	case *pb.Command_AddMembers:
		var began []int64
		switch added := v.(type) {
		case memberAdded:
			if added.added {
				began = append(began, added.member.User)
			}
		case []bool:
			for i, ok := range added {
				if ok {
					began = append(began, op.AddMembers.Members[i].User)
				}
			}
		}
		if len(began) > 0 {
			o.MembershipsChanged(membersOf(c), began, nil)
		}
	case *pb.Command_RemoveMember:
		o.MembershipsChanged(op.RemoveMember.Room, nil, []int64{op.RemoveMember.User})
	case *pb.Command_MoveMarkers:
		o.MarkersMoved(v.([]ReadMarker))
	}
}

// membersOf is the room whose members c changes, 0 for none (a new
// room has no actor to tell).
func membersOf(c *pb.Command) int64 {
	switch op := c.Op.(type) {
	case *pb.Command_AddMembers:
		if len(op.AddMembers.Members) > 0 {
			return op.AddMembers.Members[0].Room
		}
		return op.AddMembers.Room
	case *pb.Command_RemoveMember:
		return op.RemoveMember.Room
	}
	return 0
}

// refusal reports an error that the state decided, the same way on
// every replica, rather than a failure of this one.
func refusal(err error) bool {
	for _, r := range []error{ErrEmailTaken, ErrPostTaken, ErrNotFound, ErrRoomFull, ErrMessageDeleted, errChanged, errUnknownCommand} {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

var errUnknownCommand = errors.New("persistence: unknown log command (written by a newer version)")

func (s *Store) apply(c *pb.Command) (any, error) {
	switch op := c.Op.(type) {
	case *pb.Command_CreateUser:
		err := s.createUserLocal(op.CreateUser)
		return op.CreateUser.Id, err
	case *pb.Command_UpdateUser:
		up := op.UpdateUser
		return s.updateUserLocal(up.User.Id, up.Expect, func(u *pb.User) error {
			proto.Reset(u)
			proto.Merge(u, up.User)
			return nil
		})
	case *pb.Command_CreateRoom:
		r := op.CreateRoom.Room
		return r, s.createRoomLocal(r, op.CreateRoom.Members)
	case *pb.Command_OpenDirect:
		d := op.OpenDirect
		room, created, err := s.openDirectLocal(d.A, d.B, d.CreatedAtUs)
		return directOpened{room, created}, err
	case *pb.Command_AddMembers:
		a := op.AddMembers
		if a.Single && len(a.Members) == 1 {
			m, added, err := s.addMemberLocal(a.Members[0], int(a.MaxMembers))
			return memberAdded{m, added}, err
		}
		return s.addMembersLocal(a.Room, a.Members, int(a.MaxMembers))
	case *pb.Command_RemoveMember:
		return nil, s.removeMemberLocal(op.RemoveMember.Room, op.RemoveMember.User)
	case *pb.Command_MoveMarkers:
		moves := make([]ReadMarker, len(op.MoveMarkers.Markers))
		for i, m := range op.MoveMarkers.Markers {
			moves[i] = ReadMarker{Room: m.Room, User: m.User, Seq: m.Seq, ByPost: m.ByPost}
		}
		return moves, s.moveReadMarkersLocal(moves)
	case *pb.Command_InitSecret:
		return s.initSecret(op.InitSecret)
	case *pb.Command_Revoke:
		return nil, s.revokeLocal(op.Revoke.Jti, time.UnixMicro(op.Revoke.ExpiresUs))
	case *pb.Command_Append:
		return s.appendLocal(op.Append.Records)
	case *pb.Command_MediaPut:
		return nil, s.media.putLocal(op.MediaPut.Name, op.MediaPut.Data)
	case *pb.Command_MediaRemove:
		return nil, s.media.removeLocal(op.MediaRemove)
	case *pb.Command_Import:
		return nil, s.importLocal(op.Import.Keys)
	}
	return nil, errUnknownCommand
}

// propose sends cmd, the write named op, through the replicator. A
// refusal comes back as the local write returned it, already named; a log
// out of reach is ErrUnavailable, named here.
func (s *Store) propose(op string, cmd *pb.Command) (any, error) {
	v, err := s.repl.Propose(cmd)
	switch {
	case err == nil || refusal(err):
		return v, err
	case errors.Is(err, ErrUnavailable):
		return nil, fmt.Errorf("%s: %w", op, err)
	default:
		return nil, fmt.Errorf("%s: %w: %v", op, ErrUnavailable, err)
	}
}

// newSecret is a random token signing key.
func newSecret() ([]byte, error) {
	secret := make([]byte, 32)
	_, err := rand.Read(secret)
	return secret, err
}
