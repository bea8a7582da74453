package extension

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// Poster posts the card of a direct hook to a Cliq channel. cmd wires it to
// the durable Cliq notification queue, so the hook answers as soon as the
// post is queued. dedupeKey is the same for redeliveries of one hook
// delivery (GitLab and GitHub retry), so an implementation can post once.
type Poster interface {
	PostToChannel(ctx context.Context, ws tasks.WorkspaceID, channel string, msg cliq.Message, dedupeKey string) error
}

// hookAnswer is the 202 answer of a direct hook. Channel is null when no
// channel was named or configured, and then nothing was posted.
type hookAnswer struct {
	Status  string  `json:"status"`
	Channel *string `json:"channel"`
}

// hookTarget is where a direct hook posts: the workspace in ?workspace=
// (default "default") and the channel in ?channel= (default defaultChannel).
// The hook's secret is deployment-wide, so whoever holds it may name any
// workspace; that is the single-team setup these hooks are for.
func hookTarget(r *http.Request, defaultChannel string) (tasks.WorkspaceID, string, error) {
	q := r.URL.Query()
	ws := tasks.DefaultWorkspace
	if name := q.Get("workspace"); name != "" {
		ws = tasks.WorkspaceID(name)
		if err := ws.Valid(); err != nil {
			return "", "", badRequest("workspace is not a valid workspace name", map[string]string{"workspace": "invalid"})
		}
	}
	return ws, firstNonEmpty(q.Get("channel"), defaultChannel), nil
}

// deliveryKey identifies one delivery across the sender's retries: its
// delivery id header, else a digest of the body.
func deliveryKey(source string, h http.Header, body []byte) string {
	id := firstNonEmpty(h.Get("X-GitHub-Delivery"), h.Get("X-Gitlab-Event-UUID"), h.Get("Idempotency-Key"))
	if id == "" || len(id) > 128 {
		sum := sha256.Sum256(body)
		id = "sha256-" + hex.EncodeToString(sum[:16])
	}
	return source + ":" + id
}

// hookConfig is what a direct hook needs besides its secret check.
type hookConfig struct {
	logger         *slog.Logger
	poster         Poster
	defaultChannel string
	maxBody        int64
}

// handleHook verifies a direct hook with check (nil when the hook is not
// configured: 404), formats the body as src and posts it.
func handleHook(c hookConfig, src Source, check func(h http.Header, body []byte) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check == nil {
			respondError(w, r, c.logger, notFound(src.Name()+" hooks are not enabled"))
			return
		}
		body, err := readBody(w, r, c.maxBody)
		if err != nil {
			respondError(w, r, c.logger, err)
			return
		}
		if err := check(r.Header, body); err != nil {
			respondError(w, r, c.logger, err)
			return
		}
		ws, channel, err := hookTarget(r, c.defaultChannel)
		if err != nil {
			respondError(w, r, c.logger, err)
			return
		}
		answer := hookAnswer{Status: "accepted"}
		if channel != "" {
			msg := FormatAs(src, Payload{Header: r.Header, Body: body})
			key := deliveryKey(strings.ToLower(src.Name()), r.Header, body)
			if err := c.poster.PostToChannel(r.Context(), ws, channel, msg, key); err != nil {
				respondError(w, r, c.logger, fmt.Errorf("extension: queue %s hook: %w", src.Name(), err))
				return
			}
			answer.Channel = &channel
		}
		encode(w, http.StatusAccepted, answer)
	})
}

// gitlabCheck verifies X-Gitlab-Token against token; nil when token is empty.
func gitlabCheck(token string) func(http.Header, []byte) error {
	if token == "" {
		return nil
	}
	return func(h http.Header, _ []byte) error {
		got := h.Get("X-Gitlab-Token")
		if got == "" {
			return unauthenticated("missing X-Gitlab-Token header")
		}
		if !equalSecret(got, token) {
			return unauthenticated("X-Gitlab-Token does not match")
		}
		return nil
	}
}

// githubCheck verifies X-Hub-Signature-256, "sha256=" and the hex
// HMAC-SHA256 of the raw body under secret; nil when secret is empty.
func githubCheck(secret string) func(http.Header, []byte) error {
	if secret == "" {
		return nil
	}
	return func(h http.Header, body []byte) error {
		got := h.Get("X-Hub-Signature-256")
		if got == "" {
			return unauthenticated("missing X-Hub-Signature-256 header")
		}
		sig, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(got), "sha256="))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(got), "sha256=") {
			return unauthenticated("malformed X-Hub-Signature-256 header")
		}
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		if !hmac.Equal(sig, m.Sum(nil)) {
			return unauthenticated("X-Hub-Signature-256 does not match")
		}
		return nil
	}
}
