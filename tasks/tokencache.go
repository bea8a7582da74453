package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// TokenCache shares an OAuth access token between every replica through
// Redis, with a lock so one replica at a time refreshes it. It implements
// cliq.TokenCache: a refresh token mints only 10 access tokens per 10
// minutes, so replicas must not each mint their own.
//
// The keys are deployment-wide, not per workspace: one set of credentials
// serves every workspace (SPEC 12, Tenancy).
type TokenCache struct {
	rdb   redis.UniversalClient
	now   func() time.Time
	key   string // STRING: JSON {"token","expiry"}, expiring with the token
	lock  string // STRING: the holder's random id, with the lock's TTL
	owner string
}

// TokenCache returns the cache of the access token minted from the
// credentials called name (the OAuth client id serves), so deployments that
// share a Redis with other credentials never swap tokens.
func (s *Store) TokenCache(name string) *TokenCache {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &TokenCache{
		rdb: s.rdb, now: s.now,
		key:   "tasker:oauth:{" + name + "}:token",
		lock:  "tasker:oauth:{" + name + "}:lock",
		owner: hex.EncodeToString(b[:]),
	}
}

type cachedToken struct {
	Token  string    `json:"token"`
	Expiry time.Time `json:"expiry"`
}

// Load returns the cached token and its expiry, or "" when there is none.
func (c *TokenCache) Load(ctx context.Context) (string, time.Time, error) {
	raw, err := c.rdb.Get(ctx, c.key).Result()
	if isNil(err) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("tasks: load token: %w", err)
	}
	var t cachedToken
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		// A token nobody can read is as good as none: the caller mints anew.
		return "", time.Time{}, nil
	}
	return t.Token, t.Expiry, nil
}

// Save stores token until expiry; an expired token removes the entry.
func (c *TokenCache) Save(ctx context.Context, token string, expiry time.Time) error {
	ttl := expiry.Sub(c.now())
	var err error
	if ttl < time.Millisecond {
		err = c.rdb.Del(ctx, c.key).Err()
	} else {
		err = c.rdb.Set(ctx, c.key, mustJSON(cachedToken{Token: token, Expiry: expiry.UTC()}), ttl).Err()
	}
	if err != nil {
		return fmt.Errorf("tasks: save token: %w", err)
	}
	return nil
}

// TryLock takes the refresh lock for at most ttl and reports whether it did.
// A holder that dies loses the lock when ttl runs out.
func (c *TokenCache) TryLock(ctx context.Context, ttl time.Duration) (bool, error) {
	ok, err := c.rdb.SetNX(ctx, c.lock, c.owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("tasks: lock token refresh: %w", err)
	}
	return ok, nil
}

// unlockScript deletes KEYS[1] only while it holds ARGV[1], so a holder
// whose lock expired cannot release the next holder's.
var unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
`)

// Unlock releases the refresh lock if this cache still holds it.
func (c *TokenCache) Unlock(ctx context.Context) error {
	if err := unlockScript.Run(ctx, c.rdb, []string{c.lock}, c.owner).Err(); err != nil {
		return fmt.Errorf("tasks: unlock token refresh: %w", err)
	}
	return nil
}
