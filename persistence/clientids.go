package persistence

import (
	"hash/maphash"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// clientIDBytes is what one remembered client_id costs: its 8-byte hash in
// a Go map, with the map's control bytes, load factor and growth.
const clientIDBytes = 24

// clientIDs remembers, for each room that was asked about, a hash of every
// client_id stored in it. Almost every message with a client_id carries a
// new one, and proving that used to cost a Badger read transaction per
// message (two hand-offs to Badger's watermark goroutine among them). A
// hash missing from a room's loaded set was never stored there; a hash in
// it (a resend, or a collision) is looked up in the store as before.
//
// A room's set is read from the store (keys only) on its first lookup.
// Every commit that stores a client_id adds its hash before the append is
// confirmed, so an id acknowledged to a client is always in the set; one
// still in flight is the room actor's to catch (it holds the ids of its
// pending and recent messages). Past its budget the whole memory starts
// over, which costs only reading the sets in use again; a room with more
// ids than a quarter of the budget is always looked up in the store.
type clientIDs struct {
	db    *badger.DB
	seed  maphash.Seed
	mu    sync.Mutex
	rooms map[int64]*roomClientIDs // guarded by mu
	total int                      // hashes held over all rooms; guarded by mu
	max   int                      // the budget, in hashes
}

type roomClientIDs struct {
	loaded bool // the store's ids are in hashes
	tooBig bool // over a quarter of the budget: always ask the store
	hashes map[uint64]struct{}
}

func newClientIDs(db *badger.DB, budgetBytes int64) *clientIDs {
	return &clientIDs{
		db:    db,
		seed:  maphash.MakeSeed(),
		rooms: make(map[int64]*roomClientIDs),
		max:   max(int(budgetBytes/clientIDBytes), 1024),
	}
}

// neverStored reports whether key (a clientIDKey of room) is certainly not
// in the store. False means "look it up".
func (c *clientIDs) neverStored(room int64, key []byte) bool {
	h := maphash.Bytes(c.seed, key)
	c.mu.Lock()
	r, ok := c.rooms[room]
	if ok {
		absent := r.loaded && !r.tooBig && !hasHash(r.hashes, h)
		c.mu.Unlock()
		return absent // an unloaded set is being read by another lookup
	}
	r = &roomClientIDs{hashes: make(map[uint64]struct{})}
	c.rooms[room] = r
	c.mu.Unlock()

	stored, tooBig, err := c.read(room)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rooms[room] != r {
		return false // the memory started over while the set was read
	}
	if err != nil {
		delete(c.rooms, room)
		return false
	}
	if tooBig {
		c.total -= len(r.hashes)
		r.tooBig, r.hashes = true, nil
		return false
	}
	for _, s := range stored {
		if !hasHash(r.hashes, s) {
			r.hashes[s] = struct{}{}
			c.total++
		}
	}
	r.loaded = true
	absent := !hasHash(r.hashes, h)
	c.trim()
	return absent
}

// read returns the hashes of room's stored client_ids, or tooBig past a
// quarter of the budget.
func (c *clientIDs) read(room int64) (hashes []uint64, tooBig bool, err error) {
	prefix := append(idKey(prefixClientID, room, 1), '/')
	err = c.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if len(hashes) >= c.max/4 {
				tooBig = true
				return nil
			}
			hashes = append(hashes, maphash.Bytes(c.seed, it.Item().Key()))
		}
		return nil
	})
	return hashes, tooBig, err
}

// storedClientID is a client_id key a commit wrote, and its room.
type storedClientID struct {
	room int64
	key  []byte
}

// stored adds the client_id keys of a commit. Rooms nobody asked about
// are left alone: their first lookup reads the store, which has the keys.
func (c *clientIDs) stored(ids []storedClientID) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		r, ok := c.rooms[id.room]
		if !ok || r.tooBig {
			continue
		}
		if h := maphash.Bytes(c.seed, id.key); !hasHash(r.hashes, h) {
			r.hashes[h] = struct{}{}
			c.total++
		}
	}
	c.trim()
}

func hasHash(set map[uint64]struct{}, h uint64) bool {
	_, has := set[h]
	return has
}

// trim starts over past the budget. Caller holds mu.
func (c *clientIDs) trim() {
	if c.total > c.max {
		c.rooms = make(map[int64]*roomClientIDs)
		c.total = 0
	}
}

// bytes is what the memory holds, estimated at clientIDBytes a hash.
func (c *clientIDs) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.total) * clientIDBytes
}
