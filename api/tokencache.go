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
	seed   maphash.Seed
	shards [16]tokenShard
}

type tokenShard struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	userID  int64
	expires time.Time
}

// tokenCacheShardSize bounds each shard; a full shard is emptied, which
// only costs re-verifying live tokens.
const tokenCacheShardSize = 4096

func newTokenCache() *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
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
	s.mu.Lock()
	if len(s.m) >= tokenCacheShardSize {
		clear(s.m)
	}
	s.m[token] = cachedToken{userID: userID, expires: expires}
	s.mu.Unlock()
}
