package persistence

import (
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"livechat/persistence/pb"
)

// recordCache keeps decoded users and rooms in memory: every
// authenticated request reads its user and most read a room, and a Badger
// read plus a protobuf decode per request was a tenth of the REST path.
// Users and rooms (a room's member_count) change only through this store,
// which evicts them after each write and counts the writes: a miss reads
// without any lock and caches what it read only if no write of its kind
// ended meanwhile, so a stale record is never cached and no read waits for
// another's disk access.
type recordCache struct {
	mu         sync.Mutex   // orders a miss's fill against an update's eviction
	userWrites uint64       // user updates finished; guarded by mu
	roomWrites uint64       // room updates finished; guarded by mu
	users      sync.Map     // int64 → *pb.User
	rooms      sync.Map     // int64 → *pb.Room
	size       atomic.Int64 // bytes cached, estimated by recordBytes
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

// updateRooms runs an update of rooms ids, then evicts them.
func (c *recordCache) updateRooms(update func() error, ids ...int64) error {
	err := update()
	c.mu.Lock()
	c.roomWrites++
	for _, id := range ids {
		c.rooms.Delete(id)
	}
	c.mu.Unlock()
	return err
}
