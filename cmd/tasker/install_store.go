package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// installKey is the Redis HASH in which `tasker install` remembers what it
// created, so that `tasker uninstall` removes exactly that: field = a
// record key (recordKey), value = a JSON installRecord.
const installKey = "tasker:install:created"

// installRecord is one thing install created in Cliq: a component, or a
// handler it added to a component it did not create.
type installRecord struct {
	Resource string `json:"resource"`       // commands, bots, functions, messageactions
	Name     string `json:"name"`           // the component's name
	ID       string `json:"id,omitempty"`   // its ID; empty while pending
	Type     string `json:"type,omitempty"` // a handler's type; empty for a component
	Menu     string `json:"menu,omitempty"` // a menu handler's action name
	MenuID   string `json:"menu_id,omitempty"`
	// Pending marks a create that was sent but whose answer was not seen:
	// the next run adopts a component of that name as its own.
	Pending bool `json:"pending,omitempty"`
}

// key names the record in the hash.
func (r installRecord) key() string {
	k := r.Resource + "/" + r.Name
	if r.Type != "" {
		k += "/" + r.Type + "/" + r.Menu
	}
	return k
}

// installStore keeps the records in Redis under key.
type installStore struct {
	rdb redis.UniversalClient
	key string
}

func (s installStore) put(ctx context.Context, r installRecord) error {
	b, _ := json.Marshal(r)
	if err := s.rdb.HSet(ctx, s.key, r.key(), b).Err(); err != nil {
		return fmt.Errorf("install: remember %s: %w", r.key(), err)
	}
	return nil
}

func (s installStore) remove(ctx context.Context, r installRecord) error {
	if err := s.rdb.HDel(ctx, s.key, r.key()).Err(); err != nil {
		return fmt.Errorf("install: forget %s: %w", r.key(), err)
	}
	return nil
}

// all returns every record, components before handlers, in key order.
func (s installStore) all(ctx context.Context) ([]installRecord, error) {
	m, err := s.rdb.HGetAll(ctx, s.key).Result()
	if err != nil {
		return nil, fmt.Errorf("install: read records: %w", err)
	}
	out := make([]installRecord, 0, len(m))
	for k, v := range m {
		var r installRecord
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("install: record %s: %w", k, err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Type == "") != (out[j].Type == "") {
			return out[i].Type == ""
		}
		return out[i].key() < out[j].key()
	})
	return out, nil
}

// get returns the record of a component, if any.
func (s installStore) get(ctx context.Context, resource, name string) (installRecord, bool, error) {
	v, err := s.rdb.HGet(ctx, s.key, installRecord{Resource: resource, Name: name}.key()).Result()
	if err == redis.Nil {
		return installRecord{}, false, nil
	}
	if err != nil {
		return installRecord{}, false, fmt.Errorf("install: read record: %w", err)
	}
	var r installRecord
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return installRecord{}, false, fmt.Errorf("install: record: %w", err)
	}
	return r, true, nil
}
