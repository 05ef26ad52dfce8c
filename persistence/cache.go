package persistence

import (
	"sync"
	"sync/atomic"

	"livechat/persistence/pb"
)

// recordCache keeps decoded users and rooms in memory: every
// authenticated request reads its user and most read a room, and a Badger
// read plus a protobuf decode per request was a tenth of the REST path.
// Rooms never change once created. Users change only through this store,
// which evicts them after each write; the mutex orders a miss's fill
// against an update's eviction so a stale record is never cached.
type recordCache struct {
	mu    sync.Mutex // held by misses and by user updates
	users sync.Map   // int64 → *pb.User
	rooms sync.Map   // int64 → *pb.Room
	size  atomic.Int64
}

// maxCachedRecords bounds the cache; past it the cache starts over, which
// costs only re-reading the records in use.
const maxCachedRecords = 200_000

func (c *recordCache) countOne() {
	if c.size.Add(1) > maxCachedRecords {
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
	defer c.mu.Unlock()
	u, err := load()
	if err == nil {
		c.users.Store(id, u)
		c.countOne()
	}
	return u, err
}

// updateUser runs an update of user id and evicts it.
func (c *recordCache) updateUser(id int64, update func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := update()
	c.users.Delete(id)
	return err
}

func (c *recordCache) room(id int64, load func() (*pb.Room, error)) (*pb.Room, error) {
	if r, ok := c.rooms.Load(id); ok {
		return r.(*pb.Room), nil
	}
	r, err := load()
	if err == nil {
		c.rooms.Store(id, r)
		c.countOne()
	}
	return r, err
}
