package persistence

import (
	"errors"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// recordCache keeps decoded users, rooms and memberships in memory: every
// authenticated request reads its user and most read a room, and a Badger
// read plus a protobuf decode per request was a tenth of the REST path.
// Memberships are read by every request about a room (its visibility and
// the caller's role), and are cached absent as well as present.
// Users, rooms (a room's member_count) and memberships change only through this store,
// which evicts them after each write and counts the writes: a miss reads
// without any lock and caches what it read only if no write of its kind
// ended meanwhile, so a stale record is never cached and no read waits for
// another's disk access.
type recordCache struct {
	mu           sync.Mutex   // orders a miss's fill against an update's eviction
	userWrites   uint64       // user updates finished; guarded by mu
	roomWrites   uint64       // room updates finished; guarded by mu
	memberWrites uint64       // membership updates finished; guarded by mu
	users        sync.Map     // int64 → *pb.User
	rooms        sync.Map     // int64 → *pb.Room
	members      sync.Map     // memberKeyOf → *pb.Member, or noMember when absent
	size         atomic.Int64 // bytes cached, estimated by recordBytes
	// maxBytes bounds the cache (the store's memory plan); past it the
	// cache starts over, which costs only re-reading the records in use.
	maxBytes int64
}

// recordOverhead is what a cached record costs beyond its encoded size:
// the decoded message's struct and string headers, and the map entry.
const recordOverhead = 256

func recordBytes(m proto.Message) int64 { return int64(proto.Size(m)) + recordOverhead }

func (c *recordCache) count(n int64) {
	if c.size.Add(n) > c.maxBytes {
		c.users.Clear()
		c.rooms.Clear()
		c.members.Clear()
		c.size.Store(0)
	}
}

// user returns the cached user, or loads, caches and returns it.
func (c *recordCache) user(id int64, load func() (*pb.User, error)) (*pb.User, error) {
	if u, ok := c.users.Load(id); ok {
		return u.(*pb.User), nil
	}
	c.mu.Lock()
	writes := c.userWrites
	c.mu.Unlock()
	u, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.userWrites == writes { // else an update may have ended after the read began
		c.users.Store(id, u)
		c.count(recordBytes(u))
	}
	c.mu.Unlock()
	return u, nil
}

// updateUser runs an update of user id, then evicts it.
func (c *recordCache) updateUser(id int64, update func() error) error {
	err := update()
	c.mu.Lock()
	c.userWrites++
	c.users.Delete(id)
	c.mu.Unlock()
	return err
}

func (c *recordCache) room(id int64, load func() (*pb.Room, error)) (*pb.Room, error) {
	if r, ok := c.rooms.Load(id); ok {
		return r.(*pb.Room), nil
	}
	c.mu.Lock()
	writes := c.roomWrites
	c.mu.Unlock()
	r, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.roomWrites == writes {
		c.rooms.Store(id, r)
		c.count(recordBytes(r))
	}
	c.mu.Unlock()
	return r, nil
}

// forgetMembers evicts memberships of a room just created, in case a
// read of one cached its absence before the room existed.
func (c *recordCache) forgetMembers(room int64, users []int64) {
	c.mu.Lock()
	c.memberWrites++
	for _, u := range users {
		c.members.Delete(memberKeyOf{room, u})
	}
	c.mu.Unlock()
}

// forgetRoom evicts a room whose record changed.
func (c *recordCache) forgetRoom(room int64) {
	c.mu.Lock()
	c.roomWrites++
	c.rooms.Delete(room)
	c.mu.Unlock()
}

// memberKeyOf names a membership in the cache.
type memberKeyOf struct{ room, user int64 }

// noMember caches a membership that does not exist.
var noMember = &pb.Member{}

// member returns the cached membership (nil, ErrNotFound when absent), or
// loads, caches and returns it.
func (c *recordCache) member(room, user int64, load func() (*pb.Member, error)) (*pb.Member, error) {
	k := memberKeyOf{room, user}
	if m, ok := c.members.Load(k); ok {
		if m == noMember {
			return nil, ErrNotFound
		}
		return m.(*pb.Member), nil
	}
	c.mu.Lock()
	writes := c.memberWrites
	c.mu.Unlock()
	m, err := load()
	cached := m
	switch {
	case errors.Is(err, ErrNotFound):
		cached = noMember
	case err != nil:
		return nil, err
	}
	c.mu.Lock()
	if c.memberWrites == writes {
		c.members.Store(k, cached)
		c.count(recordOverhead)
	}
	c.mu.Unlock()
	return m, err
}

// updateMember runs an update of user's membership of room, then evicts
// it and the room (whose member_count it may change).
func (c *recordCache) updateMember(room, user int64, update func() error) error {
	err := update()
	c.mu.Lock()
	c.memberWrites++
	c.roomWrites++
	c.members.Delete(memberKeyOf{room, user})
	c.rooms.Delete(room)
	c.mu.Unlock()
	return err
}
