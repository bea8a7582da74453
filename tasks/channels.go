package tasks

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultChannelEvents are what a channel gets when it subscribes without
// naming events.
var DefaultChannelEvents = []EventType{EventTaskCreated, EventTaskCompleted, EventTaskOverdue}

// ChannelSubscription says which events a Cliq channel wants posted to it.
type ChannelSubscription struct {
	// Channel is the channel's unique name, which channel posts go to.
	Channel   string      `json:"channel"`
	ChatID    string      `json:"chat_id,omitempty"`
	Events    []EventType `json:"events"`
	CreatedBy string      `json:"created_by,omitempty"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// Wants reports whether the channel subscribed to typ.
func (c ChannelSubscription) Wants(typ EventType) bool { return slices.Contains(c.Events, typ) }

// SubscribeChannel adds events (DefaultChannelEvents when empty) to the
// channel's subscription and returns the result.
func (s *Store) SubscribeChannel(ctx context.Context, ws WorkspaceID, actor Actor, channel, chatID string, events []EventType) (ChannelSubscription, error) {
	if len(events) == 0 {
		events = DefaultChannelEvents
	}
	return s.changeSubscription(ctx, ws, channel, func(c *ChannelSubscription) {
		if chatID != "" {
			c.ChatID = chatID
		}
		if c.CreatedBy == "" {
			c.CreatedBy = actor.UserID
		}
		for _, e := range events {
			if !c.Wants(e) {
				c.Events = append(c.Events, e)
			}
		}
	}, events)
}

// UnsubscribeChannel removes events (all when empty) from the channel's
// subscription; a subscription left with no events is deleted.
func (s *Store) UnsubscribeChannel(ctx context.Context, ws WorkspaceID, channel string, events []EventType) (ChannelSubscription, error) {
	return s.changeSubscription(ctx, ws, channel, func(c *ChannelSubscription) {
		if len(events) == 0 {
			c.Events = nil
			return
		}
		c.Events = slices.DeleteFunc(c.Events, func(e EventType) bool { return slices.Contains(events, e) })
	}, events)
}

func (s *Store) changeSubscription(ctx context.Context, ws WorkspaceID, channel string, change func(*ChannelSubscription), events []EventType) (ChannelSubscription, error) {
	channel = strings.TrimSpace(channel)
	if channel == "" || len(channel) > 100 || strings.ContainsAny(channel, " \t\r\n") {
		return ChannelSubscription{}, invalid(map[string]string{"channel": "must be a channel unique name"})
	}
	for _, e := range events {
		if !e.Valid() {
			return ChannelSubscription{}, invalid(map[string]string{"events": fmt.Sprintf("unknown event type %q; use %s", e, EventTypeList())})
		}
	}
	k := keysFor(ws)
	for range maxRetries {
		raw, err := s.rdb.HGet(ctx, k.channels(), channel).Result()
		var c ChannelSubscription
		switch {
		case err == nil:
			if err := decode(raw, &c); err != nil {
				return ChannelSubscription{}, fmt.Errorf("tasks: channel subscription: %w", err)
			}
		case isNil(err):
			c = ChannelSubscription{Channel: channel}
		default:
			return ChannelSubscription{}, fmt.Errorf("tasks: channel subscription: %w", err)
		}
		change(&c)
		sort.Slice(c.Events, func(i, j int) bool { return c.Events[i] < c.Events[j] })
		c.UpdatedAt = s.clock()
		x := newTx(ws)
		x.op("heq", k.channels(), channel, raw)
		if len(c.Events) == 0 {
			x.op("hdel", k.channels(), channel, "")
		} else {
			x.op("hset", k.channels(), channel, mustJSON(c))
		}
		out, err := s.commit(ctx, x)
		if err != nil {
			return ChannelSubscription{}, err
		}
		if out.failed < 0 {
			return c, nil
		}
	}
	return ChannelSubscription{}, conflict("subscription is being changed by others; try again")
}

// ChannelSubscriptions lists the workspace's channel subscriptions.
func (s *Store) ChannelSubscriptions(ctx context.Context, ws WorkspaceID) ([]ChannelSubscription, error) {
	all, err := s.rdb.HGetAll(ctx, keysFor(ws).channels()).Result()
	if err != nil {
		return nil, fmt.Errorf("tasks: channel subscriptions: %w", err)
	}
	out := make([]ChannelSubscription, 0, len(all))
	for _, raw := range all {
		var c ChannelSubscription
		if decode(raw, &c) == nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Channel < out[j].Channel })
	return out, nil
}
