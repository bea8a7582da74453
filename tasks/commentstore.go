package tasks

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// AddComment adds a comment by actor to the task ref and emits comment.created.
func (s *Store) AddComment(ctx context.Context, ws WorkspaceID, actor Actor, ref, text string) (Comment, error) {
	if err := invalid(validComment(text)); err != nil {
		return Comment{}, err
	}
	k := keysFor(ws)
	for range maxRetries {
		t, raw, err := s.getTask(ctx, ws, ref)
		if err != nil {
			return Comment{}, err
		}
		now := s.clock()
		c := Comment{ID: newID("cmt_", now), TaskID: t.ID, TaskNumber: t.Number, Text: text, Author: actor.UserID, CreatedAt: now}
		x := newTx(ws)
		// The task must still be there, as read, so the event carries its current state.
		x.op("eq", k.task(t.Number), raw, "")
		x.op("zadd", k.comments(t.Number), 0, c.ID+"|"+mustJSON(c))
		x.emit(s.newEvent(ws, EventCommentCreated, now, EventData{Task: &t, Comment: &c, Actor: actor}))
		out, err := s.commit(ctx, x)
		if err != nil {
			return Comment{}, err
		}
		if out.failed < 0 {
			return c, nil
		}
	}
	return Comment{}, conflict("task is being changed by others; try again")
}

// ListComments pages through a task's comments, newest first. cursor is the
// last comment id of the previous page.
func (s *Store) ListComments(ctx context.Context, ws WorkspaceID, ref, cursor string, limit int) ([]Comment, string, error) {
	limit = ClampLimit(limit)
	t, err := s.GetTask(ctx, ws, ref)
	if err != nil {
		return nil, "", err
	}
	max := "+"
	if cursor != "" {
		if !strings.HasPrefix(cursor, "cmt_") || strings.ContainsAny(cursor, "|[(") {
			return nil, "", invalid(map[string]string{"cursor": "invalid"})
		}
		max = "(" + cursor
	}
	members, err := s.rdb.ZRevRangeByLex(ctx, keysFor(ws).comments(t.Number), &redis.ZRangeBy{Max: max, Min: "-", Count: int64(limit + 1)}).Result()
	if err != nil {
		return nil, "", fmt.Errorf("tasks: list comments: %w", err)
	}
	next := ""
	if len(members) > limit {
		members = members[:limit]
		next, _, _ = strings.Cut(members[limit-1], "|")
	}
	out := make([]Comment, 0, len(members))
	for _, m := range members {
		_, body, ok := strings.Cut(m, "|")
		var c Comment
		if !ok || decode(body, &c) != nil {
			continue
		}
		out = append(out, c)
	}
	return out, next, nil
}
