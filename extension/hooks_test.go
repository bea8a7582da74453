package extension

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

const hookBody = `{"object_kind":"issue","user":{"name":"Ann"},"project":{"path_with_namespace":"g/p","web_url":"https://gitlab.example.com/g/p"},"object_attributes":{"iid":3,"title":"Broken link","action":"open","url":"https://gitlab.example.com/g/p/-/issues/3"}}`

func hookRequest(target, body string, header map[string]string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

func TestHookAuth(t *testing.T) {
	env := newTestEnv(t, Config{})
	cases := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"GitLabOK", hookRequest("/hooks/gitlab?channel=dev", hookBody, map[string]string{"X-Gitlab-Token": testGitLabToken}), http.StatusAccepted},
		{"GitLabMissing", hookRequest("/hooks/gitlab?channel=dev", hookBody, nil), http.StatusUnauthorized},
		{"GitLabWrong", hookRequest("/hooks/gitlab?channel=dev", hookBody, map[string]string{"X-Gitlab-Token": testGitLabToken + "x"}), http.StatusUnauthorized},
		{"GitHubOK", hookRequest("/hooks/github?channel=dev", `{"zen":"z"}`, map[string]string{"X-Hub-Signature-256": githubSignature([]byte(`{"zen":"z"}`))}), http.StatusAccepted},
		{"GitHubMissing", hookRequest("/hooks/github?channel=dev", `{}`, nil), http.StatusUnauthorized},
		{"GitHubWrong", hookRequest("/hooks/github?channel=dev", `{"zen":"z"}`, map[string]string{"X-Hub-Signature-256": githubSignature([]byte(`{"zen":"y"}`))}), http.StatusUnauthorized},
		{"GitHubNoPrefix", hookRequest("/hooks/github?channel=dev", `{}`, map[string]string{"X-Hub-Signature-256": strings.TrimPrefix(githubSignature([]byte(`{}`)), "sha256=")}), http.StatusUnauthorized},
		{"GitHubNotHex", hookRequest("/hooks/github?channel=dev", `{}`, map[string]string{"X-Hub-Signature-256": "sha256=zz"}), http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(env.poster.all())
			rec := env.serve(c.req)
			if c.status != http.StatusAccepted {
				wantAPIError(t, rec, c.status, "unauthenticated")
				if len(env.poster.all()) != before {
					t.Fatal("a rejected hook posted")
				}
				return
			}
			if rec.Code != c.status || rec.Body.String() != `{"status":"accepted","channel":"dev"}`+"\n" {
				t.Fatalf("got %d %s", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestHookDisabled(t *testing.T) {
	store, _ := newTestStore(t)
	v, err := cliq.NewVerifier(testCliqSecret, nil, cliq.NewMemoryReplayGuard(time.Now), 1<<20, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	r := httprouter.New()
	noKey := func(*http.Request) (tasks.WorkspaceID, bool) { return "", false }
	AddRoutes(r, slog.New(slog.NewTextHandler(io.Discard, nil)), store, v, &recordingPoster{}, noKey, Config{})
	for _, path := range []string{"/hooks/gitlab", "/hooks/github"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, hookRequest(path, hookBody, map[string]string{"X-Gitlab-Token": "", "X-Hub-Signature-256": ""}))
		wantAPIError(t, rec, http.StatusNotFound, "not_found")
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, incomingRequest("/api/incoming-webhook?secret=x", `{}`))
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Body.String(), `{"error":"`) {
		t.Fatalf("incoming webhook: %d %s, want 404 in the simple shape", rec.Code, rec.Body.String())
	}
}

func TestHookTarget(t *testing.T) {
	env := newTestEnv(t, Config{DefaultChannel: "general"})
	h := map[string]string{"X-Gitlab-Token": testGitLabToken, "X-Gitlab-Event-UUID": "uuid-1"}
	if rec := env.serve(hookRequest("/hooks/gitlab", hookBody, h)); rec.Code != http.StatusAccepted {
		t.Fatalf("default: %d %s", rec.Code, rec.Body.String())
	}
	if rec := env.serve(hookRequest("/hooks/gitlab?workspace=team-b&channel=ops", hookBody, h)); rec.Code != http.StatusAccepted {
		t.Fatalf("named: %d %s", rec.Code, rec.Body.String())
	}
	wantAPIError(t, env.serve(hookRequest("/hooks/gitlab?workspace=bad%20name", hookBody, h)), http.StatusBadRequest, "invalid_argument")
	posts := env.poster.all()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2", len(posts))
	}
	want := []post{{ws: tasks.DefaultWorkspace, channel: "general", key: "gitlab:uuid-1"}, {ws: "team-b", channel: "ops", key: "gitlab:uuid-1"}}
	for i, p := range posts {
		if p.ws != want[i].ws || p.channel != want[i].channel || p.key != want[i].key {
			t.Errorf("post %d = %s %s %s, want %+v", i, p.ws, p.channel, p.key, want[i])
		}
		if p.msg.Card == nil || p.msg.Card.Title != "Broken link" {
			t.Errorf("post %d card = %+v", i, p.msg.Card)
		}
	}
}

func TestHookPosterFails(t *testing.T) {
	env := newTestEnv(t, Config{DefaultChannel: "general"})
	env.poster.err = errors.New("queue down")
	rec := env.serve(hookRequest("/hooks/gitlab", hookBody, map[string]string{"X-Gitlab-Token": testGitLabToken}))
	wantAPIError(t, rec, http.StatusInternalServerError, "internal")
}
