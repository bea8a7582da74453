package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/taskerhq/tasker/internal/redistest"
	"github.com/taskerhq/tasker/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// forEachBackend runs fn against the real redis-server, the embedded
// default and a real Cluster, each in a fresh workspace.
func forEachBackend(t *testing.T, fn func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID)) {
	t.Helper()
	for _, b := range redistest.Topologies() {
		t.Run(b, func(t *testing.T) {
			s := tasks.NewStore(redistest.ClientFor(t, b), time.Now)
			fn(t, s, newWorkspace())
		})
	}
}

func newWorkspace() tasks.WorkspaceID {
	return tasks.WorkspaceID(fmt.Sprintf("test-%x", rand.Uint64()))
}

func ptr[T any](v T) *T { return &v }

func mustCreate(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID, in tasks.NewTask) tasks.Task {
	t.Helper()
	task, _, err := s.CreateTask(context.Background(), ws, tasks.Actor{}, in, nil)
	if err != nil {
		t.Fatalf("CreateTask(%+v) = %v", in, err)
	}
	return task
}

func allEvents(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) []tasks.Event {
	t.Helper()
	evs, _, err := s.ListEvents(context.Background(), ws, tasks.EventFilter{}, "", tasks.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCreateTaskValidation(t *testing.T) {
	long := func(n int) string {
		r := make([]rune, n)
		for i := range r {
			r[i] = 'é'
		}
		return string(r)
	}
	tags := make([]string, 21)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%d", i)
	}
	cases := []struct {
		name  string
		in    tasks.NewTask
		field string
	}{
		{"TitleRequired", tasks.NewTask{Title: "  "}, "title"},
		{"TitleTooLong", tasks.NewTask{Title: long(301)}, "title"},
		{"DescriptionTooLong", tasks.NewTask{Title: "x", Description: long(10001)}, "description"},
		{"BadStatus", tasks.NewTask{Title: "x", Status: "done"}, "status"},
		{"BadPriority", tasks.NewTask{Title: "x", Priority: "asap"}, "priority"},
		{"TooManyTags", tasks.NewTask{Title: "x", Tags: tags}, "tags"},
		{"TagTooLong", tasks.NewTask{Title: "x", Tags: []string{long(41)}}, "tags"},
		{"TagWithSpace", tasks.NewTask{Title: "x", Tags: []string{"a b"}}, "tags"},
		{"DuplicateTag", tasks.NewTask{Title: "x", Tags: []string{"a", "A"}}, "tags"},
		{"BadSourceURL", tasks.NewTask{Title: "x", SourceURL: ptr("ftp://x")}, "source_url"},
		{"EmptyExternalID", tasks.NewTask{Title: "x", ExternalID: ptr("")}, "external_id"},
		{"UnknownAssignee", tasks.NewTask{Title: "x", Assignee: ptr("usr_nobody")}, "assignee"},
		{"NegativeRemind", tasks.NewTask{Title: "x", RemindBefore: ptr(-1)}, "remind_before"},
		{"TypeTooLong", tasks.NewTask{Title: "x", Type: long(101)}, "type"},
		{"CategoryTooLong", tasks.NewTask{Title: "x", Category: long(101)}, "category"},
	}
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, _, err := s.CreateTask(context.Background(), ws, tasks.Actor{}, c.in, nil)
				var ve *tasks.ValidationError
				if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
					t.Fatalf("CreateTask = %v, want a validation error on %s", err, c.field)
				}
			})
		}
		if evs := allEvents(t, s, ws); len(evs) != 0 {
			t.Errorf("invalid creates emitted %d events", len(evs))
		}
		if got := mustList(t, s, ws, tasks.TaskFilter{}); len(got) != 0 {
			t.Errorf("invalid creates stored %d tasks", len(got))
		}
		// 300 code points of a 2-byte letter is within the limit.
		mustCreate(t, s, ws, tasks.NewTask{Title: long(300)})
	})
}

func TestCreateAndGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		due := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
		a := mustCreate(t, s, ws, tasks.NewTask{Title: " Review PR ", Tags: []string{"#Backend"}, DueAt: &due})
		b := mustCreate(t, s, ws, tasks.NewTask{Title: "Second"})
		if a.Number != 1 || b.Number != 2 {
			t.Fatalf("numbers = %d, %d; want 1, 2", a.Number, b.Number)
		}
		if a.Title != "Review PR" || a.Status != tasks.StatusOpen || a.Priority != tasks.PriorityMedium || a.Version != 1 {
			t.Errorf("defaults: %+v", a)
		}
		if len(a.Tags) != 1 || a.Tags[0] != "backend" {
			t.Errorf("tags = %v, want [backend]", a.Tags)
		}
		for _, ref := range []string{a.ID, "1", "#1"} {
			got, err := s.GetTask(ctx, ws, ref)
			if err != nil || got.ID != a.ID || !got.DueAt.Equal(due) {
				t.Errorf("GetTask(%q) = %+v, %v", ref, got, err)
			}
		}
		for _, ref := range []string{"tsk_missing", "99", "0", "-1", "abc", ""} {
			if _, err := s.GetTask(ctx, ws, ref); !errors.Is(err, tasks.ErrNotFound) {
				t.Errorf("GetTask(%q) = %v, want ErrNotFound", ref, err)
			}
		}
	})
}

func TestIdempotentCreate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		key := &tasks.Idempotency{Key: "k1", Hash: "h1"}
		first, replayed, err := s.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "Once"}, key)
		if err != nil || replayed {
			t.Fatalf("first create = %v, replayed %v", err, replayed)
		}
		again, replayed, err := s.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "Once"}, key)
		if err != nil || !replayed || again.ID != first.ID || again.Number != first.Number {
			t.Fatalf("replay = %+v, %v, replayed %v; want the first task", again, err, replayed)
		}
		_, _, err = s.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "Other"}, &tasks.Idempotency{Key: "k1", Hash: "h2"})
		if !errors.Is(err, tasks.ErrConflict) {
			t.Fatalf("reuse with another body = %v, want ErrConflict", err)
		}
		if n := len(allEvents(t, s, ws)); n != 1 {
			t.Errorf("events = %d, want 1", n)
		}
		// Concurrent requests with one key make one task.
		var wg sync.WaitGroup
		ids := make([]string, 10)
		for i := range ids {
			wg.Go(func() {
				task, _, err := s.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "Race"}, &tasks.Idempotency{Key: "k2", Hash: "h"})
				if err != nil {
					t.Error(err)
				}
				ids[i] = task.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("concurrent creates with one key made different tasks: %v", ids)
			}
		}
	})
}

func TestUpdateIfMatchAndEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Ann", Email: "Ann@Example.com"})
		if err != nil {
			t.Fatal(err)
		}
		task := mustCreate(t, s, ws, tasks.NewTask{Title: "Draft"})
		stale := int64(task.Version)
		up, err := s.UpdateTask(ctx, ws, tasks.Actor{UserID: u.ID}, task.ID, tasks.TaskPatch{
			Title: tasks.Some("Final"), Status: tasks.Some(tasks.StatusCompleted), Assignee: tasks.Some("ann@example.com"),
		}, &stale)
		if err != nil {
			t.Fatal(err)
		}
		if up.Version != 2 || up.Title != "Final" || up.CompletedAt == nil || *up.CompletedBy != u.ID || *up.Assignee != u.ID {
			t.Errorf("updated = %+v", up)
		}
		if _, err := s.UpdateTask(ctx, ws, tasks.Actor{}, task.ID, tasks.TaskPatch{Title: tasks.Some("Lost")}, &stale); !errors.Is(err, tasks.ErrConflict) {
			t.Fatalf("stale If-Match = %v, want ErrConflict", err)
		}
		got := map[tasks.EventType]tasks.Event{}
		for _, e := range allEvents(t, s, ws) {
			got[e.Type] = e
		}
		for _, typ := range []tasks.EventType{tasks.EventTaskCreated, tasks.EventTaskCompleted, tasks.EventTaskAssigned, tasks.EventTaskUpdated} {
			if _, ok := got[typ]; !ok {
				t.Errorf("no %s event; have %v", typ, got)
			}
		}
		if _, ok := got[tasks.EventTaskStatusChanged]; ok {
			t.Error("task.status_changed sent alongside task.completed")
		}
		if ch := got[tasks.EventTaskUpdated].Data.Changes; len(ch) != 1 || ch["title"].To != "Final" {
			t.Errorf("task.updated changes = %v, want only title", ch)
		}
		if ev := got[tasks.EventTaskCompleted]; ev.Data.Task.Version != 2 || ev.Data.Actor.UserID != u.ID {
			t.Errorf("task.completed = %+v", ev)
		}
		// A no-op patch writes nothing.
		same, err := s.UpdateTask(ctx, ws, tasks.Actor{}, task.ID, tasks.TaskPatch{Title: tasks.Some("Final")}, nil)
		if err != nil || same.Version != 2 {
			t.Errorf("no-op update = %v, version %d", err, same.Version)
		}
		re, err := s.ReopenTask(ctx, ws, tasks.Actor{}, "1")
		if err != nil || re.Status != tasks.StatusOpen || re.CompletedAt != nil || re.CompletedBy != nil {
			t.Errorf("reopen = %+v, %v", re, err)
		}
		if _, err := s.UpdateTask(ctx, ws, tasks.Actor{}, "1", tasks.TaskPatch{Title: tasks.Null[string]()}, nil); err == nil {
			t.Error("null title accepted")
		}
		if _, err := s.SnoozeTask(ctx, ws, tasks.Actor{}, "1", time.Now().Add(-time.Hour)); err == nil {
			t.Error("snooze into the past accepted")
		}
		sn, err := s.SnoozeTask(ctx, ws, tasks.Actor{}, "1", time.Now().Add(time.Hour))
		if err != nil || sn.SnoozedUntil == nil {
			t.Errorf("snooze = %+v, %v", sn, err)
		}
	})
}

func TestConcurrentWritesKeepEveryEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		task := mustCreate(t, s, ws, tasks.NewTask{Title: "Hot"})
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if _, err := s.UpdateTask(ctx, ws, tasks.Actor{}, task.ID, tasks.TaskPatch{Description: tasks.Some(fmt.Sprint(i))}, nil); err != nil && !errors.Is(err, tasks.ErrConflict) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		final, err := s.GetTask(ctx, ws, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		updates := 0
		versions := map[int64]bool{}
		for _, e := range allEvents(t, s, ws) {
			if e.Type == tasks.EventTaskUpdated {
				updates++
				versions[e.Data.Task.Version] = true
			}
		}
		// Every acknowledged write has exactly one event, and no failed write has one.
		if int64(updates) != final.Version-1 || len(versions) != updates {
			t.Errorf("version %d after %d update events (%d distinct versions)", final.Version, updates, len(versions))
		}
	})
}

func TestFailedWriteEmitsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		mustCreate(t, s, ws, tasks.NewTask{Title: "A", ExternalID: ptr("ext-1")})
		before := len(allEvents(t, s, ws))
		_, _, err := s.CreateTask(ctx, ws, tasks.Actor{}, tasks.NewTask{Title: "B", ExternalID: ptr("ext-1")}, nil)
		if !errors.Is(err, tasks.ErrConflict) {
			t.Fatalf("duplicate external id = %v, want ErrConflict", err)
		}
		if after := len(allEvents(t, s, ws)); after != before {
			t.Errorf("failed create emitted %d events", after-before)
		}
		if got, _, _ := s.ListTasks(ctx, ws, tasks.TaskFilter{}, "", 10); len(got) != 1 {
			t.Errorf("failed create left %d tasks", len(got))
		}
		byExt, err := s.TaskByExternalID(ctx, ws, "ext-1")
		if err != nil || byExt.Title != "A" {
			t.Errorf("TaskByExternalID = %+v, %v", byExt, err)
		}
	})
}

// TestCreateNumbersEveryEntry checks that a task's number reaches the
// record's key, each index bucket (past the first of both widths), the id
// map and the events.
func TestCreateNumbersEveryEntry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		const n = 520 // past the first bucket of 512 numbers
		due := time.Now().Add(48 * time.Hour)
		var last tasks.Task
		for i := 1; i <= n; i++ {
			last = mustCreate(t, s, ws, tasks.NewTask{Title: fmt.Sprintf("Needle %d", i), Tags: []string{"hay"}, DueAt: &due})
			if last.Number != int64(i) {
				t.Fatalf("create %d got number %d", i, last.Number)
			}
		}
		byID, err := s.GetTask(ctx, ws, last.ID)
		if err != nil || byID.Number != n || byID.Title != last.Title {
			t.Fatalf("GetTask(%s) = %+v, %v", last.ID, byID, err)
		}
		for _, f := range []tasks.TaskFilter{{}, {Status: tasks.StatusOpen}, {Tag: "hay"}, {Query: "needle"}, {Assignee: "none"}} {
			seen, cursor := 0, ""
			for {
				page, next, err := s.ListTasks(ctx, ws, f, cursor, tasks.MaxLimit)
				if err != nil {
					t.Fatal(err)
				}
				for _, task := range page {
					if want := int64(n - seen); task.Number != want {
						t.Fatalf("%+v: task %d of the list is number %d, want %d", f, seen, task.Number, want)
					}
					seen++
				}
				if cursor = next; cursor == "" {
					break
				}
			}
			if seen != n {
				t.Errorf("%+v lists %d tasks, want %d", f, seen, n)
			}
		}
		for _, q := range []string{"129", "520"} {
			page, _, err := s.ListTasks(ctx, ws, tasks.TaskFilter{Query: q}, "", 10)
			if err != nil || len(page) != 1 || page[0].Title != "Needle "+q {
				t.Errorf("search %q = %+v, %v", q, page, err)
			}
		}
		evs, _, err := s.ListEvents(ctx, ws, tasks.EventFilter{}, "", 1)
		if err != nil || len(evs) != 1 || evs[0].Data.Task == nil || evs[0].Data.Task.Number != n {
			t.Errorf("newest event = %+v, %v; want task number %d", evs, err, n)
		}
	})
}

func TestDeleteTask(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		task := mustCreate(t, s, ws, tasks.NewTask{Title: "Gone soon", Tags: []string{"x"}, ExternalID: ptr("e")})
		if _, err := s.AddComment(ctx, ws, tasks.Actor{}, "1", "note"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTask(ctx, ws, tasks.Actor{}, task.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTask(ctx, ws, "1"); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("GetTask after delete = %v", err)
		}
		for _, f := range []tasks.TaskFilter{{}, {Tag: "x"}, {Query: "gone"}, {Assignee: "none"}, {Status: tasks.StatusOpen}} {
			if got := mustList(t, s, ws, f); len(got) != 0 {
				t.Errorf("ListTasks(%+v) after delete = %d tasks", f, len(got))
			}
		}
		if err := s.DeleteTask(ctx, ws, tasks.Actor{}, task.ID); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("second delete = %v, want ErrNotFound", err)
		}
		if _, err := s.TaskByExternalID(ctx, ws, "e"); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("external id survived delete: %v", err)
		}
		evs := allEvents(t, s, ws)
		if evs[0].Type != tasks.EventTaskDeleted || evs[0].Data.Task.Title != "Gone soon" {
			t.Errorf("last event = %s %+v", evs[0].Type, evs[0].Data.Task)
		}
	})
}

func TestListPaginationAndFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		ann, _ := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Ann", Email: "ann@example.com"})
		day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		for i := 1; i <= 23; i++ {
			in := tasks.NewTask{Title: fmt.Sprintf("Task %d", i), DueAt: ptr(day.Add(time.Duration(i) * time.Hour))}
			if i%2 == 0 {
				in.Tags = []string{"even"}
			}
			if i%3 == 0 {
				in.Assignee = &ann.ID
				in.Description = "needs the deploy key"
			}
			mustCreate(t, s, ws, in)
		}
		if _, err := s.CompleteTask(ctx, ws, tasks.Actor{}, "4"); err != nil {
			t.Fatal(err)
		}
		collect := func(f tasks.TaskFilter, limit int) []int64 {
			var nums []int64
			cursor := ""
			for pages := 0; ; pages++ {
				page, next, err := s.ListTasks(ctx, ws, f, cursor, limit)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > limit || pages > 50 {
					t.Fatalf("page of %d with limit %d", len(page), limit)
				}
				for _, p := range page {
					nums = append(nums, p.Number)
				}
				if next == "" {
					return nums
				}
				cursor = next
			}
		}
		want := func(pred func(n int64) bool) []int64 {
			var out []int64
			for n := int64(23); n >= 1; n-- {
				if pred(n) {
					out = append(out, n)
				}
			}
			return out
		}
		cases := []struct {
			name string
			f    tasks.TaskFilter
			want []int64
		}{
			{"All", tasks.TaskFilter{}, want(func(int64) bool { return true })},
			{"Tag", tasks.TaskFilter{Tag: "#Even"}, want(func(n int64) bool { return n%2 == 0 })},
			{"AssigneeEmail", tasks.TaskFilter{Assignee: "ANN@example.com"}, want(func(n int64) bool { return n%3 == 0 })},
			{"AssigneeID", tasks.TaskFilter{Assignee: ann.ID}, want(func(n int64) bool { return n%3 == 0 })},
			{"Unassigned", tasks.TaskFilter{Assignee: "none"}, want(func(n int64) bool { return n%3 != 0 })},
			{"Completed", tasks.TaskFilter{Status: tasks.StatusCompleted}, []int64{4}},
			{"Open", tasks.TaskFilter{Status: tasks.StatusOpen}, want(func(n int64) bool { return n != 4 })},
			{"Words", tasks.TaskFilter{Query: "Deploy KEY"}, want(func(n int64) bool { return n%3 == 0 })},
			{"WordsAndTag", tasks.TaskFilter{Query: "deploy", Tag: "even"}, want(func(n int64) bool { return n%6 == 0 })},
			{"NoSuchWord", tasks.TaskFilter{Query: "zebra"}, nil},
			{"DueRange", tasks.TaskFilter{DueAfter: ptr(day.Add(5 * time.Hour)), DueBefore: ptr(day.Add(9 * time.Hour))}, []int64{6, 7, 8}},
			{"DueBefore", tasks.TaskFilter{DueBefore: ptr(day.Add(4 * time.Hour)), Tag: "even"}, []int64{2}},
			{"DueAfter", tasks.TaskFilter{DueAfter: ptr(day.Add(20 * time.Hour))}, []int64{21, 22, 23}},
			{"UnknownAssignee", tasks.TaskFilter{Assignee: "nobody@example.com"}, nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, limit := range []int{1, 4, 50} {
					got := collect(c.f, limit)
					if fmt.Sprint(got) != fmt.Sprint(c.want) {
						t.Errorf("limit %d: got %v, want %v", limit, got, c.want)
					}
				}
			})
		}
		if _, _, err := s.ListTasks(ctx, ws, tasks.TaskFilter{}, "garbage!", 10); err == nil {
			t.Error("bad cursor accepted")
		}
		if _, _, err := s.ListTasks(ctx, ws, tasks.TaskFilter{Status: "nope"}, "", 10); err == nil {
			t.Error("bad status accepted")
		}
	})
}

// TestListByDueWithTies pages through tasks sharing one due time, which a
// score bound alone could not step past.
func TestListByDueWithTies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		at := time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC)
		later := at.Add(time.Hour)
		for i := 1; i <= 12; i++ {
			due := at
			if i > 9 {
				due = later
			}
			mustCreate(t, s, ws, tasks.NewTask{Title: fmt.Sprint(i), DueAt: &due})
		}
		var got []string
		cursor := ""
		for range 20 {
			page, next, err := s.ListTasks(ctx, ws, tasks.TaskFilter{DueAfter: ptr(at.Add(-time.Minute))}, cursor, 5)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				got = append(got, p.Title)
			}
			if next == "" {
				break
			}
			// A task of the page just read leaves the index meanwhile; the
			// next page must neither skip nor repeat.
			if len(got) == 5 {
				if err := s.DeleteTask(ctx, ws, tasks.Actor{}, page[len(page)-1].ID); err != nil {
					t.Fatal(err)
				}
			}
			cursor = next
		}
		// Equal due times order by number text, as Redis orders equal scores.
		if want := "[1 2 3 4 5 6 7 8 9 10 11 12]"; fmt.Sprint(got) != want {
			t.Fatalf("due order pages = %v, want %v", got, want)
		}
	})
}

func TestWorkspaceIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, a tasks.WorkspaceID) {
		ctx := context.Background()
		b := newWorkspace()
		ta := mustCreate(t, s, a, tasks.NewTask{Title: "Secret plan", Tags: []string{"x"}})
		tb := mustCreate(t, s, b, tasks.NewTask{Title: "Other"})
		if tb.Number != 1 {
			t.Errorf("workspace b's first number = %d, want 1", tb.Number)
		}
		if _, err := s.GetTask(ctx, b, ta.ID); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("b sees a's task by id: %v", err)
		}
		got, _, _ := s.ListTasks(ctx, b, tasks.TaskFilter{Query: "secret"}, "", 10)
		if len(got) != 0 {
			t.Errorf("b finds a's task by word")
		}
		for _, e := range allEvents(t, s, b) {
			if e.Workspace != b {
				t.Errorf("b's log has %s's event", e.Workspace)
			}
		}
		if _, err := s.CreateUser(ctx, a, tasks.Actor{}, tasks.NewUser{Name: "X", Email: "x@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateUser(ctx, b, tasks.Actor{}, tasks.NewUser{Name: "X", Email: "x@example.com"}); err != nil {
			t.Errorf("same email in another workspace: %v", err)
		}
		if _, _, err := s.CreateTask(ctx, "bad{ws}", tasks.Actor{}, tasks.NewTask{Title: "x"}, nil); err == nil {
			t.Error("workspace name with braces accepted")
		}
	})
}

func TestComments(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		mustCreate(t, s, ws, tasks.NewTask{Title: "Talk"})
		for i := range 5 {
			if _, err := s.AddComment(ctx, ws, tasks.Actor{UserID: "usr_x"}, "1", fmt.Sprintf("c%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.AddComment(ctx, ws, tasks.Actor{}, "1", " "); err == nil {
			t.Error("empty comment accepted")
		}
		if _, err := s.AddComment(ctx, ws, tasks.Actor{}, "2", "x"); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("comment on missing task = %v", err)
		}
		var texts []string
		cursor := ""
		for {
			page, next, err := s.ListComments(ctx, ws, "1", cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page {
				texts = append(texts, c.Text)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if fmt.Sprint(texts) != "[c4 c3 c2 c1 c0]" {
			t.Errorf("comments = %v", texts)
		}
		evs, _, _ := s.ListEvents(ctx, ws, tasks.EventFilter{Type: tasks.EventCommentCreated}, "", 50)
		if len(evs) != 5 || evs[0].Data.Comment.Text != "c4" || evs[0].Data.Task.Title != "Talk" {
			t.Errorf("comment events = %d", len(evs))
		}
	})
}

func TestUsersAndLinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		ann, err := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Ann", Email: "ann@example.com", Timezone: "Europe/Berlin", CliqUserID: ptr("600")})
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]tasks.NewUser{
			"DuplicateEmail": {Name: "B", Email: "ANN@example.com"},
			"DuplicateCliq":  {Name: "B", CliqUserID: ptr("600")},
		} {
			if _, err := s.CreateUser(ctx, ws, tasks.Actor{}, in); !errors.Is(err, tasks.ErrConflict) {
				t.Errorf("%s = %v, want ErrConflict", name, err)
			}
		}
		for name, in := range map[string]tasks.NewUser{
			"NoName":      {Email: "b@example.com"},
			"BadEmail":    {Name: "B", Email: "not-an-email"},
			"BadTimezone": {Name: "B", Timezone: "Mars/Olympus"},
		} {
			var ve *tasks.ValidationError
			if _, err := s.CreateUser(ctx, ws, tasks.Actor{}, in); !errors.As(err, &ve) {
				t.Errorf("%s = %v, want a validation error", name, err)
			}
		}
		byCliq, err := s.UserByCliqID(ctx, ws, "600")
		if err != nil || byCliq.ID != ann.ID {
			t.Fatalf("UserByCliqID = %+v, %v", byCliq, err)
		}
		bob, _ := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Bob", Email: "bob@example.com"})
		if _, err := s.LinkCliq(ctx, ws, tasks.Actor{}, bob.ID, "600"); !errors.Is(err, tasks.ErrConflict) {
			t.Errorf("linking a taken Cliq id = %v", err)
		}
		if _, err := s.LinkCliq(ctx, ws, tasks.Actor{}, "ann@example.com", "601"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UserByCliqID(ctx, ws, "600"); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("old link survived relink: %v", err)
		}
		if _, err := s.LinkCliq(ctx, ws, tasks.Actor{}, bob.ID, "600"); err != nil {
			t.Errorf("freed Cliq id not linkable: %v", err)
		}
		users, next, err := s.ListUsers(ctx, ws, "", 1)
		if err != nil || len(users) != 1 || users[0].ID != bob.ID || next == "" {
			t.Fatalf("ListUsers page 1 = %v, %q, %v", users, next, err)
		}
		users, next, _ = s.ListUsers(ctx, ws, next, 1)
		if len(users) != 1 || users[0].ID != ann.ID || next != "" {
			t.Errorf("ListUsers page 2 = %v, %q", users, next)
		}
	})
}

func TestEnsureCliqUserConcurrentFirstContact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		pre, _ := s.CreateUser(ctx, ws, tasks.Actor{}, tasks.NewUser{Name: "Lars", Email: "lars@example.com"})
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Go(func() {
				u, _, err := s.EnsureCliqUser(ctx, ws, tasks.CliqProfile{ID: "700", Name: "Lars B", Email: "lars@example.com", Timezone: "Asia/Kolkata"})
				if err != nil {
					t.Error(err)
				}
				ids[i] = u.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != pre.ID {
				t.Fatalf("first contact made %v, want all %s (linked by email)", ids, pre.ID)
			}
		}
		fresh, created, err := s.EnsureCliqUser(ctx, ws, tasks.CliqProfile{ID: "701", Name: "New", Timezone: "Nowhere/Bad"})
		if err != nil || !created || fresh.Timezone != "" || *fresh.CliqUserID != "701" {
			t.Errorf("new Cliq user = %+v, created %v, %v", fresh, created, err)
		}
	})
}

func TestEventsListing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		for i := range 7 {
			mustCreate(t, s, ws, tasks.NewTask{Title: fmt.Sprint(i)})
		}
		s.CompleteTask(ctx, ws, tasks.Actor{}, "3")
		var seen []string
		cursor := ""
		for {
			page, next, err := s.ListEvents(ctx, ws, tasks.EventFilter{Type: tasks.EventTaskCreated}, cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				seen = append(seen, e.Data.Task.Title)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if fmt.Sprint(seen) != "[6 5 4 3 2 1 0]" {
			t.Errorf("created events newest first = %v", seen)
		}
		future, _, _ := s.ListEvents(ctx, ws, tasks.EventFilter{Since: time.Now().Add(time.Hour)}, "", 10)
		if len(future) != 0 {
			t.Errorf("since the future = %d events", len(future))
		}
		if _, _, err := s.ListEvents(ctx, ws, tasks.EventFilter{Type: "task.exploded"}, "", 10); err == nil {
			t.Error("unknown type accepted")
		}
	})
}

// mustList lists the first tasks f matches, failing the test when listing
// fails: an error must not pass for an empty answer.
func mustList(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID, f tasks.TaskFilter) []tasks.Task {
	t.Helper()
	got, _, err := s.ListTasks(context.Background(), ws, f, "", 10)
	if err != nil {
		t.Fatalf("ListTasks(%+v): %v", f, err)
	}
	return got
}
