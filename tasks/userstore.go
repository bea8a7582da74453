package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// CreateUser stores a new user and, when in links a Cliq user, emits
// user.linked. Errors: *ValidationError; ErrConflict when the email or the
// Cliq user id already belongs to another user.
func (s *Store) CreateUser(ctx context.Context, ws WorkspaceID, actor Actor, in NewUser) (User, error) {
	now := s.clock()
	u := User{
		Workspace: ws, Name: strings.TrimSpace(in.Name), Email: NormalizeEmail(in.Email),
		Timezone: in.Timezone, CliqUserID: in.CliqUserID, CreatedAt: now, UpdatedAt: now,
	}
	if err := invalid(u.Valid()); err != nil {
		return User{}, err
	}
	u.ID = newID("usr_", now)
	k := keysFor(ws)
	x := newTx(ws)
	emailCheck, cliqCheck := -1, -1
	if u.Email != "" {
		emailCheck = x.op("hfree", k.userEmails(), u.Email, "")
		x.op("hset", k.userEmails(), u.Email, u.ID)
	}
	if u.CliqUserID != nil {
		cliqCheck = x.op("hfree", k.userCliq(), *u.CliqUserID, "")
		x.op("hset", k.userCliq(), *u.CliqUserID, u.ID)
		x.emit(s.newEvent(ws, EventUserLinked, now, EventData{User: &u, Actor: actor}))
	}
	x.op("set", k.user(u.ID), mustJSON(u), "")
	x.op("zadd", k.users(), 0, u.ID)
	out, err := s.commit(ctx, x)
	if err != nil {
		return User{}, err
	}
	switch out.failed {
	case -1:
		return u, nil
	case emailCheck:
		return User{}, conflict(fmt.Sprintf("a user with email %s already exists", u.Email))
	case cliqCheck:
		return User{}, conflict(fmt.Sprintf("Cliq user %s is already linked to another user", *u.CliqUserID))
	}
	return User{}, fmt.Errorf("tasks: create user: check %d failed", out.failed)
}

// GetUser returns the user whose id ("usr_…") or email is ref.
func (s *Store) GetUser(ctx context.Context, ws WorkspaceID, ref string) (User, error) {
	u, _, err := s.getUser(ctx, ws, ref)
	return u, err
}

// UserByCliqID returns the user linked to the Cliq user id. Every signed
// chat command asks it first, so it is one script call, not two reads.
func (s *Store) UserByCliqID(ctx context.Context, ws WorkspaceID, cliqUserID string) (User, error) {
	k := keysFor(ws)
	raw, err := userByCliqScript.Run(ctx, s.rdb, []string{k.userCliq(), k.user("")}, cliqUserID).Text()
	if errors.Is(err, redis.Nil) {
		return User{}, ErrNotFound
	}
	if redis.IsTryAgainError(err) {
		// The script's KEYS[2] is a prefix, never a key, so while the
		// workspace's Cluster slot moves Redis refuses it as a multi-key
		// request with keys missing; single-key reads are redirected.
		return s.userByCliqReads(ctx, ws, cliqUserID)
	}
	if err != nil {
		return User{}, fmt.Errorf("tasks: user by cliq id: %w", err)
	}
	var u User
	if err := decode(raw, &u); err != nil {
		return User{}, fmt.Errorf("tasks: user by cliq id: %w", err)
	}
	return u, nil
}

// userByCliqReads is UserByCliqID in two reads: the link, then the user.
func (s *Store) userByCliqReads(ctx context.Context, ws WorkspaceID, cliqUserID string) (User, error) {
	id, err := s.rdb.HGet(ctx, keysFor(ws).userCliq(), cliqUserID).Result()
	if errors.Is(err, redis.Nil) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("tasks: user by cliq id: %w", err)
	}
	return s.GetUser(ctx, ws, id)
}

func (s *Store) getUser(ctx context.Context, ws WorkspaceID, ref string) (User, string, error) {
	k := keysFor(ws)
	id := strings.TrimSpace(ref)
	if strings.Contains(id, "@") {
		var err error
		id, err = s.rdb.HGet(ctx, k.userEmails(), NormalizeEmail(id)).Result()
		if errors.Is(err, redis.Nil) {
			return User{}, "", ErrNotFound
		}
		if err != nil {
			return User{}, "", fmt.Errorf("tasks: get user: %w", err)
		}
	}
	if !strings.HasPrefix(id, "usr_") {
		return User{}, "", ErrNotFound
	}
	var u User
	raw, err := s.getJSON(ctx, k.user(id), &u)
	if err != nil && !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("tasks: get user %s: %w", id, err)
	}
	return u, raw, err
}

// LinkCliq links the user ref to a Cliq user id, replacing any earlier link
// of that user, and emits user.linked. ErrConflict when the Cliq user is
// linked to someone else.
func (s *Store) LinkCliq(ctx context.Context, ws WorkspaceID, actor Actor, ref, cliqUserID string) (User, error) {
	if !validCliqID(cliqUserID) {
		return User{}, invalid(map[string]string{"cliq_user_id": "must be a Cliq user id"})
	}
	k := keysFor(ws)
	for range maxRetries {
		u, raw, err := s.getUser(ctx, ws, ref)
		if err != nil {
			return User{}, err
		}
		if u.CliqUserID != nil && *u.CliqUserID == cliqUserID {
			return u, nil
		}
		now := s.clock()
		x := newTx(ws)
		x.op("eq", k.user(u.ID), raw, "")
		cliqCheck := x.op("hfree", k.userCliq(), cliqUserID, u.ID)
		if u.CliqUserID != nil {
			x.op("hdel", k.userCliq(), *u.CliqUserID, "")
		}
		u.CliqUserID, u.UpdatedAt = &cliqUserID, now
		x.op("hset", k.userCliq(), cliqUserID, u.ID)
		x.op("set", k.user(u.ID), mustJSON(u), "")
		x.emit(s.newEvent(ws, EventUserLinked, now, EventData{User: &u, Actor: actor}))
		out, err := s.commit(ctx, x)
		if err != nil {
			return User{}, err
		}
		switch out.failed {
		case -1:
			return u, nil
		case cliqCheck:
			return User{}, conflict(fmt.Sprintf("Cliq user %s is already linked to another user", cliqUserID))
		}
	}
	return User{}, conflict("user is being changed by others; try again")
}

// CliqProfile is what Cliq tells about a user who talks to the bot.
type CliqProfile struct {
	ID       string
	Name     string
	Email    string
	Timezone string
}

// EnsureCliqUser returns the user linked to the Cliq user p.ID, linking the
// user with p's email or creating one on first contact. created reports
// whether this call made the user or the link.
func (s *Store) EnsureCliqUser(ctx context.Context, ws WorkspaceID, p CliqProfile) (u User, created bool, err error) {
	for range maxRetries {
		u, err := s.UserByCliqID(ctx, ws, p.ID)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return u, false, err
		}
		actor := Actor{CliqUserID: p.ID}
		if p.Email != "" {
			byEmail, err := s.GetUser(ctx, ws, p.Email)
			switch {
			case err == nil && byEmail.CliqUserID == nil:
				u, err := s.LinkCliq(ctx, ws, actor, byEmail.ID, p.ID)
				if errors.Is(err, ErrConflict) {
					continue // someone linked it meanwhile: read again
				}
				return u, err == nil, err
			case err == nil:
				// The email belongs to a user linked to another Cliq account:
				// keep that link and create this one without the email.
				p.Email = ""
			case !errors.Is(err, ErrNotFound):
				return User{}, false, err
			}
		}
		tz := p.Timezone
		if _, err := loadZone(tz); err != nil {
			tz = ""
		}
		name := strings.TrimSpace(p.Name)
		if name == "" {
			name = "Cliq user " + p.ID
		}
		id := p.ID
		u, err = s.CreateUser(ctx, ws, actor, NewUser{Name: name, Email: p.Email, Timezone: tz, CliqUserID: &id})
		if errors.Is(err, ErrConflict) {
			continue // a concurrent first contact won: read its result
		}
		return u, err == nil, err
	}
	return User{}, false, conflict("user is being changed by others; try again")
}

// ListUsers pages through the workspace's users, newest first. cursor is
// the last user id of the previous page ("" for the first).
func (s *Store) ListUsers(ctx context.Context, ws WorkspaceID, cursor string, limit int) ([]User, string, error) {
	k := keysFor(ws)
	limit = ClampLimit(limit)
	max := "+"
	if cursor != "" {
		if !strings.HasPrefix(cursor, "usr_") {
			return nil, "", invalid(map[string]string{"cursor": "invalid"})
		}
		max = "(" + cursor
	}
	ids, err := s.rdb.ZRevRangeByLex(ctx, k.users(), &redis.ZRangeBy{Max: max, Min: "-", Count: int64(limit + 1)}).Result()
	if err != nil {
		return nil, "", fmt.Errorf("tasks: list users: %w", err)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	users := make([]User, 0, len(ids))
	if len(ids) == 0 {
		return users, "", nil
	}
	userKeys := make([]string, len(ids))
	for i, id := range ids {
		userKeys[i] = k.user(id)
	}
	vals, err := s.mget(ctx, userKeys)
	if err != nil {
		return nil, "", fmt.Errorf("tasks: list users: %w", err)
	}
	for _, v := range vals {
		var u User
		if v == "" || decode(v, &u) != nil {
			continue
		}
		users = append(users, u)
	}
	return users, next, nil
}
