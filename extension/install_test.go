package extension

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

// installSeq makes each install body unique, so the verifier never sees a replay.
var installSeq atomic.Int64

func installBody(t *testing.T, user map[string]any) []byte {
	t.Helper()
	return mustJSON(t, map[string]any{
		"handler": "extension_installation", "component": "tasker",
		"sent_at": fmt.Sprintf("2026-03-10T11:45:%02d+01:00", installSeq.Add(1)%60),
		"user":    user, "app_info": map[string]any{"current_version": "1.0", "type": "install"},
	})
}

func TestExtensionInstall(t *testing.T) {
	env := newTestEnv(t, Config{})
	user := map[string]any{"id": "60012345678", "first_name": "Priya", "last_name": "Raman",
		"email": "priya.raman@example.com", "organization_id": "60009876543", "timezone": "Asia/Kolkata"}
	for i := range 2 {
		rec := env.serve(signedRequest("/cliq/extension/install", installBody(t, user)))
		got := mustDecode[map[string]any](t, rec)
		if rec.Code != http.StatusOK || got["status"] != "200" || got["title"] == "" || got["message"] == "" {
			t.Fatalf("install %d: %d %s", i+1, rec.Code, rec.Body.String())
		}
	}
	u, err := env.store.UserByCliqID(context.Background(), tasks.DefaultWorkspace, "60012345678")
	if err != nil || u.Name != "Priya Raman" || u.Email != "priya.raman@example.com" || u.Timezone != "Asia/Kolkata" {
		t.Fatalf("installer = %+v, %v", u, err)
	}

	t.Run("NoUserID", func(t *testing.T) {
		rec := env.serve(signedRequest("/cliq/extension/install", installBody(t, map[string]any{"first_name": "X"})))
		wantAPIError(t, rec, http.StatusBadRequest, "invalid_argument")
	})
	t.Run("NoUser", func(t *testing.T) {
		rec := env.serve(signedRequest("/cliq/extension/install", []byte(`{"handler":"extension_installation"}`)))
		wantAPIError(t, rec, http.StatusBadRequest, "invalid_argument")
	})
}

func TestExtensionInstallOrgTenancy(t *testing.T) {
	env := newTestEnv(t, Config{Tenancy: tasks.OrgTenancy})
	org := tasks.WorkspaceID("org" + string(env.ws)[5:])
	rec := env.serve(signedRequest("/cliq/extension/install", installBody(t, map[string]any{"id": "601", "first_name": "Ola", "organization_id": string(org)})))
	if rec.Code != http.StatusOK {
		t.Fatalf("install: %d %s", rec.Code, rec.Body.String())
	}
	if _, err := env.store.UserByCliqID(context.Background(), org, "601"); err != nil {
		t.Fatalf("installer not in the organisation's workspace: %v", err)
	}
	rec = env.serve(signedRequest("/cliq/extension/install", installBody(t, map[string]any{"id": "602"})))
	wantAPIError(t, rec, http.StatusBadRequest, "invalid_argument")
}
