package extension

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

func TestMakeRef(t *testing.T) {
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
			got, ok := makeRef(c.code, c.url)
			if got != c.want || ok != c.ok {
				t.Fatalf("makeRef(%q, %q) = %q, %v; want %q, %v", c.code, c.url, got, ok, c.want, c.ok)
			}
			if ok && len(TrackKeyPrefix+got) > 100 {
				t.Fatalf("key %q is longer than 100", TrackKeyPrefix+got)
			}
		})
	}
}

func TestParseRefRejects(t *testing.T) {
	for _, ref := range []string{"", "gh", "gh:", "GH:github.com/x", "gh:javascript:alert(1)", "gh:github.com/x#frag", "toolongcode:x.com/a", "gh:http://"} {
		if _, _, err := parseRef(ref); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("parseRef(%q) = %v, want ErrInvalidRef", ref, err)
		}
	}
}

func TestRefTitle(t *testing.T) {
	cases := map[string]string{
		"gh:github.com/Codertocat/Hello-World/issues/1":          "Issue #1 in Codertocat/Hello-World",
		"gh:github.com/Codertocat/Hello-World/pull/2":            "Pull request #2 in Codertocat/Hello-World",
		"gl:http://example.com/diaspora/merge_requests/1":        "Merge request !1 in diaspora",
		"gl:example.com/g/p/-/pipelines/31":                      "Pipeline #31 in g/p",
		"gl:example.com/g/p/-/commit/da1560886d4f094c3e6c9ef403": "Commit da156088 in g/p",
		"x:crm.example.com/deals/7":                              "Webhook item crm.example.com/deals/7",
	}
	for ref, want := range cases {
		code, u, err := parseRef(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := refTitle(code, u); got != want {
			t.Errorf("refTitle(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestSampleRefsTrack checks that every sample card's button key is a REF
// that Track accepts, and that its URL is the item's.
func TestSampleRefsTrack(t *testing.T) {
	store, ws := newTestStore(t)
	for _, s := range loadSamples(t) {
		m := Format(Payload{Header: http.Header{http.CanonicalHeaderKey(s.header): {s.event}}, Body: s.body})
		for _, b := range m.Buttons {
			ref, ok := strings.CutPrefix(b.Key, TrackKeyPrefix)
			if !ok {
				continue
			}
			task, _, err := Track(context.Background(), store, ws, tasks.Actor{}, ref, m.Card.Title)
			if err != nil {
				t.Fatalf("%s/%s: Track(%q) = %v", s.source, s.name, ref, err)
			}
			if task.SourceURL == nil || !strings.Contains(*task.SourceURL, strings.SplitN(ref, ":", 2)[1]) {
				t.Errorf("%s/%s: source_url = %v, want the REF's URL", s.source, s.name, task.SourceURL)
			}
		}
	}
}

func TestTrackTwice(t *testing.T) {
	store, ws := newTestStore(t)
	ctx := context.Background()
	ref := "gh:github.com/Codertocat/Hello-World/issues/1"
	first, created, err := Track(ctx, store, ws, tasks.Actor{CliqUserID: "600"}, ref, "Spelling error in the README file")
	if err != nil || !created {
		t.Fatalf("Track = %v, %v; want created", created, err)
	}
	again, created, err := Track(ctx, store, ws, tasks.Actor{CliqUserID: "601"}, ref, "")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("second Track = %s, %v, %v; want %s, not created", again.ID, created, err, first.ID)
	}
	if first.Title != "Spelling error in the README file" || *first.SourceURL != "https://github.com/Codertocat/Hello-World/issues/1" ||
		*first.ExternalID != "track:https://github.com/Codertocat/Hello-World/issues/1" {
		t.Errorf("task = %+v", first)
	}
	if n := countEvents(t, store, ws); n != 1 {
		t.Errorf("%d events, want 1 (task.created)", n)
	}
}

func TestTrackConcurrent(t *testing.T) {
	store, ws := newTestStore(t)
	ref := "gl:example.com/g/p/-/issues/5"
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			task, _, err := Track(context.Background(), store, ws, tasks.Actor{}, ref, "")
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
	store, ws := newTestStore(t)
	if _, _, err := Track(context.Background(), store, ws, tasks.Actor{}, "nonsense", ""); !errors.Is(err, ErrInvalidRef) {
		t.Fatalf("Track(nonsense) = %v, want ErrInvalidRef", err)
	}
}
