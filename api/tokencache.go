package api

import (
	"hash/maphash"
	"sync"
	"time"
)

// tokenCache remembers access tokens whose signature was verified, so that
// a client making many requests with one token pays for parsing and HMAC
// once. Entries keep the token's expiry and are checked against it on
// every hit. Sharded so that concurrent requests rarely share a lock.
type tokenCache struct {
	seed     maphash.Seed
	shards   [tokenShards]tokenShard
	maxBytes int64 // per shard
}

const tokenShards = 16

type tokenShard struct {
	mu    sync.Mutex
	m     map[string]cachedToken
	bytes int64
}

type cachedToken struct {
	userID  int64
	expires time.Time
}

// tokenEntryOverhead is what an entry costs beyond its token's bytes: the
// string header, the value and the map's share of a bucket.
const tokenEntryOverhead = 96

// newTokenCache makes a cache of at most maxBytes; a full shard is
// emptied, which only costs re-verifying live tokens.
func newTokenCache(maxBytes int64) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), maxBytes: maxBytes / tokenShards}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cachedToken)
	}
	return c
}

func (c *tokenCache) shard(token string) *tokenShard {
	return &c.shards[maphash.String(c.seed, token)%uint64(len(c.shards))]
}

// get returns the user and expiry of a cached, unexpired token.
func (c *tokenCache) get(token string, now time.Time) (int64, time.Time, bool) {
	s := c.shard(token)
	s.mu.Lock()
	t, ok := s.m[token]
	s.mu.Unlock()
	if !ok || !now.Before(t.expires) {
		return 0, time.Time{}, false
	}
	return t.userID, t.expires, true
}

func (c *tokenCache) put(token string, userID int64, expires time.Time) {
	s := c.shard(token)
	n := int64(len(token)) + tokenEntryOverhead
	s.mu.Lock()
	if s.bytes+n > c.maxBytes {
		clear(s.m)
		s.bytes = 0
	}
	if _, ok := s.m[token]; !ok {
		s.bytes += n
	}
	s.m[token] = cachedToken{userID: userID, expires: expires}
	s.mu.Unlock()
}

// held is the bytes the cache holds, by its estimate.
func (c *tokenCache) held() int64 {
	n := int64(0)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.bytes
		s.mu.Unlock()
	}
	return n
}
