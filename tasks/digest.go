package tasks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// EventDailyDigest is the event of one user's daily digest (SPEC 9). It is
// Tasker's own, not one of the webhook events of SPEC 8.2: it is not in
// EventTypes, so Valid reports false for it and subscriptions cannot name
// it; webhook targets skip it (Internal) and the Cliq target sends it as a
// direct message to data.user. data.digest holds the lists.
const EventDailyDigest EventType = "digest.daily"

// Internal reports whether events of type t are for Tasker's own targets
// only and never go to webhook subscribers.
func (t EventType) Internal() bool { return t == EventDailyDigest }

// MaxDigestTasks bounds each list of a digest; the counts say how many
// there are in all.
const MaxDigestTasks = 50

// digestSentTTL keeps the per-date marker of a sent digest past the end of
// that local date in every timezone.
const digestSentTTL = 72 * time.Hour

// Digest is one user's daily digest: their open tasks that are overdue or
// due later on that local day, as they were when the digest was made.
type Digest struct {
	// Date is the user's local date, YYYY-MM-DD, in Timezone.
	Date     string `json:"date"`
	Timezone string `json:"timezone"`
	// Overdue lists tasks due at or before the digest, oldest due first.
	Overdue []Task `json:"overdue"`
	// DueToday lists tasks due later that local day, soonest first.
	DueToday []Task `json:"due_today"`
	// The counts include tasks beyond the MaxDigestTasks of each list.
	OverdueCount  int `json:"overdue_count"`
	DueTodayCount int `json:"due_today_count"`
}

// DigestClock is the local time of day digests go out at (TASKER_DIGEST_TIME).
type DigestClock struct{ Hour, Minute int }

// ParseDigestClock reads a DigestClock from "HH:MM", 24-hour.
func ParseDigestClock(s string) (DigestClock, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return DigestClock{}, fmt.Errorf("tasks: digest time %q is not HH:MM", s)
	}
	return DigestClock{Hour: t.Hour(), Minute: t.Minute()}, nil
}

// on returns the clock's instant on the local date y-m-d in loc. Dates
// roll over (d+1 is the next day), and a time skipped by a DST change
// becomes the instant Go normalises it to on that same day.
func (c DigestClock) on(y int, m time.Month, d int, loc *time.Location) time.Time {
	return time.Date(y, m, d, c.Hour, c.Minute, 0, 0, loc)
}

// next returns the first instant of the clock in loc after now.
func (c DigestClock) next(now time.Time, loc *time.Location) time.Time {
	l := now.In(loc)
	at := c.on(l.Year(), l.Month(), l.Day(), loc)
	if !at.After(now) {
		at = c.on(l.Year(), l.Month(), l.Day()+1, loc)
	}
	return at
}

// SentDigest is one user's digest that a FireDigests call claimed.
type SentDigest struct {
	UserID string
	// Date is the user's local date of the digest, YYYY-MM-DD.
	Date string
	// At is the instant the digest fell due.
	At time.Time
	// Event is the id of the emitted digest.daily, or "" when the user had
	// nothing overdue or due that day (no digest is sent then).
	Event string
}

// FireDigests claims the daily digests of ws due at now, at most limit
// users per call, and emits a digest.daily event for each user with
// something to list. Users linked to Cliq wait in schedDigest, scored by
// their next digest instant: at (the local time of day) in their own
// timezone, or in defaultLoc when they have none, so DST changes move the
// instant with the wall clock. Each claim is one script call that checks the
// user's marker for that local date is absent and the entry unchanged, sets
// the marker, moves the entry to the next local day and appends the event:
// one digest per user per local day however many sweeps run. A digest
// missed during downtime is not sent late; the next one is.
//
// more reports that the batch was full and this call made progress.
func (s *Store) FireDigests(ctx context.Context, ws WorkspaceID, now time.Time, at DigestClock, defaultLoc *time.Location, limit int) (sent []SentDigest, more bool, err error) {
	k := keysFor(ws)
	now = now.UTC().Truncate(time.Millisecond)
	if err := s.armDigests(ctx, k, now, at, defaultLoc); err != nil {
		return nil, false, err
	}
	entries, err := s.rdb.ZRangeByScoreWithScores(ctx, k.schedDigest(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.Unix(), 10), Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, false, fmt.Errorf("tasks: due digests: %w", err)
	}
	if len(entries) == 0 {
		return nil, false, nil
	}
	userKeys := make([]string, len(entries))
	for i, e := range entries {
		userKeys[i] = k.user(e.Member.(string))
	}
	raws, err := s.mget(ctx, userKeys)
	if err != nil {
		return nil, false, fmt.Errorf("tasks: due digests: %w", err)
	}
	type plan struct {
		e          redis.Z
		u          User
		loc        *time.Location
		date       string
		next, stop time.Time // the next digest; the start of the next local day
	}
	var (
		plans  []plan
		txs    []*tx
		claims []SentDigest // per tx: what it claims if it succeeds
	)
	for i, e := range entries {
		id := e.Member.(string)
		var u User
		if raws[i] == "" || decode(raws[i], &u) != nil || u.CliqUserID == nil {
			x := newTx(ws) // no longer a linked user
			x.op("zscore", k.schedDigest(), id, int64(e.Score))
			x.op("zrem", k.schedDigest(), id, "")
			txs, claims = append(txs, x), append(claims, SentDigest{UserID: id})
			continue
		}
		loc := userLocation(u, defaultLoc)
		l := now.In(loc)
		if today := at.on(l.Year(), l.Month(), l.Day(), loc); today.After(now) {
			// The user's timezone changed since the entry was armed: wait
			// for today's digest time there.
			x := newTx(ws)
			x.op("zscore", k.schedDigest(), id, int64(e.Score))
			x.op("zadd", k.schedDigest(), today.Unix(), id)
			txs, claims = append(txs, x), append(claims, SentDigest{UserID: id})
			continue
		}
		plans = append(plans, plan{
			e: e, u: u, loc: loc, date: l.Format(time.DateOnly),
			next: at.on(l.Year(), l.Month(), l.Day()+1, loc),
			stop: time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc),
		})
	}
	digests := make([]Digest, len(plans))
	owners := make([]digestOwner, len(plans))
	for i, p := range plans {
		digests[i] = Digest{Date: p.date, Timezone: p.loc.String()}
		owners[i] = digestOwner{userID: p.u.ID, stop: p.stop}
	}
	if err := s.fillDigests(ctx, k, now, digests, owners); err != nil {
		return nil, false, err
	}
	sentCheck := -1
	for i, p := range plans {
		x := newTx(ws)
		sentCheck = x.op("eq", k.digestSent(p.u.ID, p.date), "", "")
		x.op("zscore", k.schedDigest(), p.u.ID, int64(p.e.Score))
		x.op("set", k.digestSent(p.u.ID, p.date), "1", int(digestSentTTL/time.Second))
		x.op("zadd", k.schedDigest(), p.next.Unix(), p.u.ID)
		c := SentDigest{UserID: p.u.ID, Date: p.date, At: time.Unix(int64(p.e.Score), 0).UTC()}
		if d := digests[i]; d.OverdueCount+d.DueTodayCount > 0 {
			u := p.u
			ev := s.newEvent(ws, EventDailyDigest, now, EventData{User: &u, Digest: &d})
			x.emit(ev)
			c.Event = ev.ID
		}
		txs = append(txs, x)
		claims = append(claims, c)
	}
	outs, err := s.applyAll(ctx, ws, txs)
	if err != nil {
		return nil, false, fmt.Errorf("tasks: fire digests: %w", err)
	}
	progress := 0
	var moveOn []*tx
	for i, out := range outs {
		j := i - (len(txs) - len(plans)) // index into plans, or < 0 for a shift
		switch {
		case out.failed < 0:
			progress++
			if j >= 0 {
				sent = append(sent, claims[i])
			}
		case j >= 0 && out.failed == sentCheck:
			// This local date's digest was sent already (a timezone change
			// moved the entry back into it): only move the entry on.
			x := newTx(ws)
			x.op("zscore", k.schedDigest(), plans[j].u.ID, int64(plans[j].e.Score))
			x.op("zadd", k.schedDigest(), plans[j].next.Unix(), plans[j].u.ID)
			moveOn = append(moveOn, x)
		}
	}
	outs, err = s.applyAll(ctx, ws, moveOn)
	if err != nil {
		return nil, false, fmt.Errorf("tasks: fire digests: %w", err)
	}
	for _, out := range outs {
		if out.failed < 0 {
			progress++
		}
	}
	return sent, len(entries) == limit && progress > 0, nil
}

// digestOwner is whose digest is being filled, and the next local midnight
// that ends its "due today".
type digestOwner struct {
	userID string
	stop   time.Time
}

// fillDigests reads each digest's lists from its user's schedAssignee: due
// at or before now is overdue, due before stop (the next local midnight) is
// due today. It costs what the digests list, not what the users ever had.
func (s *Store) fillDigests(ctx context.Context, k keys, now time.Time, ds []Digest, owners []digestOwner) error {
	if len(ds) == 0 {
		return nil
	}
	type reads struct {
		overdueN, todayN *redis.IntCmd
		overdue, today   *redis.StringSliceCmd
	}
	rs := make([]reads, len(ds))
	nowS := strconv.FormatInt(now.Unix(), 10)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, o := range owners {
			key, stopS := k.schedAssignee(o.userID), "("+strconv.FormatInt(o.stop.Unix(), 10)
			rs[i] = reads{
				overdueN: p.ZCount(ctx, key, "-inf", nowS),
				todayN:   p.ZCount(ctx, key, "("+nowS, stopS),
				overdue:  p.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: "-inf", Max: nowS, Count: MaxDigestTasks}),
				today:    p.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: "(" + nowS, Max: stopS, Count: MaxDigestTasks}),
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tasks: digest tasks: %w", err)
	}
	var taskKeys []string
	var nums []int64
	for _, r := range rs {
		for _, n := range append(r.overdue.Val(), r.today.Val()...) {
			nums = append(nums, mustInt(n))
			taskKeys = append(taskKeys, k.task(mustInt(n)))
		}
	}
	vals, err := s.mget(ctx, taskKeys)
	if err != nil {
		return fmt.Errorf("tasks: digest tasks: %w", err)
	}
	next := func() (Task, bool) {
		v, n := vals[0], nums[0]
		vals, nums = vals[1:], nums[1:]
		t, err := decodeTask(v, k.ws, n)
		return t, v != "" && err == nil // deleted meanwhile: left out
	}
	for i, r := range rs {
		ds[i].Overdue, ds[i].DueToday = []Task{}, []Task{}
		ds[i].OverdueCount, ds[i].DueTodayCount = int(r.overdueN.Val()), int(r.todayN.Val())
		for range r.overdue.Val() {
			if t, ok := next(); ok {
				ds[i].Overdue = append(ds[i].Overdue, t)
			}
		}
		for range r.today.Val() {
			if t, ok := next(); ok {
				ds[i].DueToday = append(ds[i].DueToday, t)
			}
		}
	}
	return nil
}

// armDigests keeps schedDigest's members equal to the linked users. It
// compares the two counts, one round trip, and reads the sets only when a
// user was linked since (or an entry outlived its link).
func (s *Store) armDigests(ctx context.Context, k keys, now time.Time, at DigestClock, defaultLoc *time.Location) error {
	var linkedN, armedN *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		linkedN, armedN = p.HLen(ctx, k.userCliq()), p.ZCard(ctx, k.schedDigest())
		return nil
	})
	if err != nil {
		return fmt.Errorf("tasks: arm digests: %w", err)
	}
	if linkedN.Val() == armedN.Val() {
		return nil
	}
	// Armed first: links only grow, so every user armed by then (by a
	// concurrent sweep too) is in the links read after.
	armed, err := s.rdb.ZRange(ctx, k.schedDigest(), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("tasks: arm digests: %w", err)
	}
	linked, err := s.rdb.HVals(ctx, k.userCliq()).Result()
	if err != nil {
		return fmt.Errorf("tasks: arm digests: %w", err)
	}
	isLinked := make(map[string]bool, len(linked))
	for _, id := range linked {
		isLinked[id] = true
	}
	isArmed := make(map[string]bool, len(armed))
	var stale []any
	for _, id := range armed {
		isArmed[id] = true
		if !isLinked[id] {
			stale = append(stale, id)
		}
	}
	var missing, userKeys []string
	for _, id := range linked {
		if !isArmed[id] {
			missing = append(missing, id)
			userKeys = append(userKeys, k.user(id))
		}
	}
	var vals []string
	if len(userKeys) > 0 {
		if vals, err = s.mget(ctx, userKeys); err != nil {
			return fmt.Errorf("tasks: arm digests: %w", err)
		}
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if len(stale) > 0 {
			p.ZRem(ctx, k.schedDigest(), stale...)
		}
		for i, id := range missing {
			var u User
			if vals[i] == "" || decode(vals[i], &u) != nil {
				continue
			}
			// NX: a concurrent sweep may have armed (or even sent) it already.
			p.ZAddNX(ctx, k.schedDigest(), redis.Z{Score: float64(at.next(now, userLocation(u, defaultLoc)).Unix()), Member: id})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tasks: arm digests: %w", err)
	}
	return nil
}

// userLocation is u's timezone, or def when u has none.
func userLocation(u User, def *time.Location) *time.Location {
	if loc, err := loadZone(u.Timezone); err == nil {
		return loc
	}
	if def == nil {
		return time.UTC
	}
	return def
}
