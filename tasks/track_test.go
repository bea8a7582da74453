package tasks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
)

func TestTrackRef(t *testing.T) {
	long := "https://gitlab.example.com/group/subgroup/team/project/-/commit/" + strings.Repeat("ab", 20)
	cases := []struct {
		name, code, url, want string
		ok                    bool
	}{
		{"HTTPS", "gh", "https://github.com/o/r/issues/1", "gh:github.com/o/r/issues/1", true},
		{"HTTP", "gl", "http://example.com/g/p/issues/2", "gl:http://example.com/g/p/issues/2", true},
		{"NoteAnchor", "gl", "https://example.com/g/p/-/issues/3#note_9", "gl:example.com/g/p/-/issues/3", true},
		{"LongCommit", "gl", long, "gl:gitlab.example.com/group/subgroup/team/project/-/commit/abababababab", true},
		{"TooLong", "gh", "https://github.com/" + strings.Repeat("x", 100) + "/issues/1", "", false},
		{"NotWeb", "x", "javascript:alert(1)", "", false},
		{"Empty", "x", "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := TrackRef(c.code, c.url)
			if got != c.want || ok != c.ok {
				t.Fatalf("TrackRef(%q, %q) = %q, %v; want %q, %v", c.code, c.url, got, ok, c.want, c.ok)
			}
			if ok && len(TrackKeyPrefix+got) > 100 {
				t.Fatalf("key %q is longer than 100", TrackKeyPrefix+got)
			}
		})
	}
}

func TestParseTrackRefRejects(t *testing.T) {
	for _, ref := range []string{"", "gh", "gh:", "GH:github.com/x", "gh:javascript:alert(1)", "gh:github.com/x#frag", "toolongcode:x.com/a", "gh:http://"} {
		if _, _, err := parseTrackRef(ref); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("parseTrackRef(%q) = %v, want ErrInvalidRef", ref, err)
		}
	}
}

func TestTrackTitle(t *testing.T) {
	cases := map[string]string{
		"gh:github.com/Codertocat/Hello-World/issues/1":          "Issue #1 in Codertocat/Hello-World",
		"gh:github.com/Codertocat/Hello-World/pull/2":            "Pull request #2 in Codertocat/Hello-World",
		"gl:http://example.com/diaspora/merge_requests/1":        "Merge request !1 in diaspora",
		"gl:example.com/g/p/-/pipelines/31":                      "Pipeline #31 in g/p",
		"gl:example.com/g/p/-/commit/da1560886d4f094c3e6c9ef403": "Commit da156088 in g/p",
		"x:crm.example.com/deals/7":                              "Item crm.example.com/deals/7",
	}
	for ref, want := range cases {
		_, u, err := parseTrackRef(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := trackTitle(u); got != want {
			t.Errorf("trackTitle(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestTrackTwice(t *testing.T) {
	store, ws := newTrackStore(t)
	ctx := context.Background()
	ref := "gh:github.com/Codertocat/Hello-World/issues/1"
	first, created, err := store.Track(ctx, ws, Actor{CliqUserID: "600"}, ref, "Spelling error in the README file")
	if err != nil || !created {
		t.Fatalf("Track = %v, %v; want created", created, err)
	}
	again, created, err := store.Track(ctx, ws, Actor{CliqUserID: "601"}, ref, "")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("second Track = %s, %v, %v; want %s, not created", again.ID, created, err, first.ID)
	}
	if first.Title != "Spelling error in the README file" || *first.SourceURL != "https://github.com/Codertocat/Hello-World/issues/1" ||
		*first.ExternalID != "track:https://github.com/Codertocat/Hello-World/issues/1" {
		t.Errorf("task = %+v", first)
	}
	if evs, _, err := store.ListEvents(ctx, ws, EventFilter{}, "", MaxLimit); err != nil || len(evs) != 1 {
		t.Errorf("%d events, %v; want 1 (task.created)", len(evs), err)
	}
	if first.Description != "Tracked from github.com: https://github.com/Codertocat/Hello-World/issues/1" {
		t.Errorf("description = %q", first.Description)
	}
}

func TestTrackConcurrent(t *testing.T) {
	store, ws := newTrackStore(t)
	ref := "gl:example.com/g/p/-/issues/5"
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			task, _, err := store.Track(context.Background(), ws, Actor{}, ref, "")
			if err != nil {
				t.Error(err)
			}
			ids[i] = task.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent tracks made several tasks: %v", ids)
		}
	}
	task, err := store.GetTask(context.Background(), ws, ids[0])
	if err != nil || task.Title != "Issue #5 in g/p" {
		t.Fatalf("task = %+v, %v", task, err)
	}
}

func TestTrackInvalidRef(t *testing.T) {
	store, ws := newTrackStore(t)
	if _, _, err := store.Track(context.Background(), ws, Actor{}, "nonsense", ""); !errors.Is(err, ErrInvalidRef) {
		t.Fatalf("Track(nonsense) = %v, want ErrInvalidRef", err)
	}
}

func newTrackStore(t *testing.T) (*Store, WorkspaceID) {
	t.Helper()
	return NewStore(redistest.Client(t), time.Now), WorkspaceID(fmt.Sprintf("track-%x", rand.Uint64()))
}

func FuzzParseTrackRef(f *testing.F) {
	for _, seed := range []string{"gh:github.com/o/r/issues/1", "gl:http://example.com/a", "x:a.b/c?d=e", "gh:", ":"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		code, u, err := parseTrackRef(ref)
		if err != nil {
			return
		}
		again, ok := TrackRef(code, u)
		if ok && again != ref && again != code+":"+u {
			t.Fatalf("parseTrackRef(%q) = %q, %q; TrackRef gives %q", ref, code, u, again)
		}
		if title := trackTitle(u); title == "" {
			t.Fatalf("trackTitle(%q) is empty", ref)
		}
	})
}
