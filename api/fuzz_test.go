package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func FuzzDecodeTask(f *testing.F) {
	for _, seed := range []string{
		`{"title":"Review PR"}`,
		`{"title":"x","description":"y","status":"in_progress","priority":"urgent","type":"bug","category":"c","tags":["#A","b"],"due_at":"2030-01-01T10:00:00+05:30","remind_before":30,"external_id":"e1","source_url":"https://example.com/1"}`,
		`{"title":"x","assignee":null,"due_at":null}`,
		`{"title":"x","assignee":"a@example.com"}`,
		`{"title":"x","status":"completed"}`,
		`{"title":"x","due_at":"0000-01-01T00:00:00Z"}`,
		`{"title":"x","due_at":"9999-12-31T23:59:59Z"}`,
		`{"title":"x","remind_before":1e400}`,
		`{"title":"\u0000\ud800"}`,
		`{"title":"x"}{}`,
		`{"title":`,
		`[]`, `null`, `""`, `0`, ``,
		`{"title":"x","tags":[null]}`,
		`{"title":"x","unknown":1}`,
	} {
		f.Add(seed)
	}
	e := newTestEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/api/v1/tasks", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+e.keyA)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("POST %q = %d %s", body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("POST %q answered non-JSON %q", body, w.Body)
		}
		if w.Code != http.StatusCreated {
			if w.Code != http.StatusBadRequest && w.Code != http.StatusConflict {
				t.Fatalf("POST %q = %d %s", body, w.Code, w.Body)
			}
			return
		}
		var created struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &created); err != nil || created.ID == "" {
			t.Fatalf("201 body %s: %v", w.Body, err)
		}
		got := e.do(t, call{method: "GET", path: "/api/v1/tasks/" + created.ID})
		if got.Code != http.StatusOK || got.Body.String() != w.Body.String() {
			t.Fatalf("GET after 201 = %d %s, want %s", got.Code, got.Body, w.Body)
		}
	})
}

func FuzzTaskQuery(f *testing.F) {
	for _, seed := range []string{
		"", "status=open", "assignee=none&tag=ops&q=deploy+backend", "limit=200&cursor=bjo1",
		"due_before=2030-01-01T00:00:00Z&due_after=2029-01-01T00:00:00%2B02:00",
		"limit=0", "limit=-1", "limit=99999999999999999999", "status=open&status=done",
		"%zz", "q=%00%ff", "cursor=bjotNQ", "assignee=a@b.example", "tag=%23", "x=1", ";",
	} {
		f.Add(seed)
	}
	e := newTestEnv(f)
	e.createTask(f, `{"title":"deploy backend","tags":["ops"],"due_at":"2029-06-01T00:00:00Z"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseTaskQuery(raw)
		if err == nil && (q.limit < 1 || q.limit > 200) {
			t.Fatalf("parseTaskQuery(%q) limit = %d", raw, q.limit)
		}
		r := httptest.NewRequest("GET", "/api/v1/tasks", nil)
		r.URL.RawQuery = raw
		r.Header.Set("Authorization", "Bearer "+e.keyA)
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		switch {
		case w.Code >= 500:
			t.Fatalf("GET ?%s = %d %s", raw, w.Code, w.Body)
		case err != nil && w.Code != http.StatusBadRequest:
			t.Fatalf("GET ?%s = %d, want 400 for %v", raw, w.Code, err)
		case w.Code != http.StatusOK && w.Code != http.StatusBadRequest:
			t.Fatalf("GET ?%s = %d %s", raw, w.Code, w.Body)
		}
	})
}

func FuzzParseSnoozeFor(f *testing.F) {
	for _, seed := range []string{"1h", "90m", "2d", "1d12h", "0s", "-1h", "400d", "d", "1d-1h", "9223372036854775807ns", "366d1ns"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseSnoozeFor(s)
		if err == nil && (d <= 0 || d > maxSnooze) {
			t.Fatalf("parseSnoozeFor(%q) = %v, outside (0, %v]", s, d, maxSnooze)
		}
	})
}

func TestParseSnoozeFor(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1h", time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"2d", 48 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{" 3d ", 72 * time.Hour, true},
		{"366d", maxSnooze, true},
		{"0s", 0, false},
		{"-1h", 0, false},
		{"1d-1h", 0, false},
		{"367d", 0, false},
		{"366d1ns", 0, false},
		{"d", 0, false},
		{"tomorrow", 0, false},
		{"", 0, false},
	}
	for _, tc := range cases {
		got, err := parseSnoozeFor(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSnoozeFor(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseIfMatch(t *testing.T) {
	cases := []struct {
		in   string
		want int64 // 0: no condition
		ok   bool
	}{
		{"", 0, true}, {"*", 0, true}, {" * ", 0, true},
		{"3", 3, true}, {`"3"`, 3, true}, {`W/"3"`, 3, true}, {` "12" `, 12, true},
		{`"3`, 0, false}, {`W/3x`, 0, false}, {"-1", 0, false}, {"0", 0, false}, {`""`, 0, false},
		{"abc", 0, false}, {`"1", "2"`, 0, false}, {"99999999999999999999", 0, false},
	}
	for _, tc := range cases {
		got, err := parseIfMatch(tc.in)
		var n int64
		if got != nil {
			n = *got
		}
		if (err == nil) != tc.ok || n != tc.want {
			t.Errorf("parseIfMatch(%q) = %v, %v; want %d, ok %v", tc.in, n, err, tc.want, tc.ok)
		}
	}
}
