package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/taskerhq/tasker/internal/bound"
	"github.com/taskerhq/tasker/tasks"
)

// Keys are the REST API keys of TASKER_API_KEYS, each bound to the
// workspace it works in. Only SHA-256 digests are kept, so neither a log
// line nor a memory dump of Keys shows a key.
type Keys struct {
	entries []keyEntry
}

type keyEntry struct {
	digest [sha256.Size]byte
	ws     tasks.WorkspaceID
	length int // in bytes, for Weak
}

// MinKeyLength is the length below which a key is guessable enough to warn
// about: the generated ones have 32 random characters.
const MinKeyLength = 16

// Weak returns the 1-based positions of the keys shorter than
// MinKeyLength, so the operator can be told which to replace.
func (k *Keys) Weak() []int {
	var out []int
	for i, e := range k.entries {
		if e.length < MinKeyLength {
			out = append(out, i+1)
		}
	}
	return out
}

// ParseKeys parses TASKER_API_KEYS: a comma list of KEY or KEY@WORKSPACE,
// split at the last '@' so a key may itself hold '@'; a key without one
// works in tasks.DefaultWorkspace. An empty entry, an empty key, an invalid
// workspace name or a key listed twice is an error, which names the entry
// by position and never quotes a key. The empty string is an error too:
// the dev-mode key for an unset variable is cmd's to generate.
func ParseKeys(s string) (*Keys, error) {
	list, err := bound.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("api: API key %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("api: no API keys")
	}
	k := &Keys{}
	for _, e := range list {
		k.entries = append(k.entries, keyEntry{digest: sha256.Sum256([]byte(e.Value)), ws: e.Workspace, length: len(e.Value)})
	}
	return k, nil
}

// String describes k without its keys, should it ever be printed.
func (k *Keys) String() string { return fmt.Sprintf("%d API keys", len(k.entries)) }

// LogValue keeps keys out of slog output.
func (k *Keys) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Authenticate returns the workspace of the API key r presents, in
// "Authorization: Bearer <key>" or else in "X-Api-Key: <key>". The key is
// compared with every configured one in constant time, without an early
// exit, so timing tells nothing of which or how much matched.
func (k *Keys) Authenticate(r *http.Request) (tasks.WorkspaceID, bool) {
	presented := presentedKey(r)
	if presented == "" {
		return "", false
	}
	d := sha256.Sum256([]byte(presented))
	var ws tasks.WorkspaceID
	found := 0
	for _, e := range k.entries {
		eq := subtle.ConstantTimeCompare(d[:], e.digest[:])
		if eq == 1 {
			ws = e.ws
		}
		found |= eq
	}
	return ws, found == 1
}

func presentedKey(r *http.Request) string {
	if scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

type workspaceKey struct{}

// Require lets through only requests with a valid API key, answering 401
// unauthenticated otherwise; handlers find the key's workspace with
// WorkspaceFrom.
func (k *Keys) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, ok := k.Authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tasker"`)
			WriteError(w, http.StatusUnauthorized, codeUnauthenticated,
				"a valid API key is required in Authorization: Bearer <key> or X-Api-Key", nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), workspaceKey{}, ws)))
	})
}

// WorkspaceFrom returns the workspace Require stored in ctx.
func WorkspaceFrom(ctx context.Context) (tasks.WorkspaceID, bool) {
	ws, ok := ctx.Value(workspaceKey{}).(tasks.WorkspaceID)
	return ws, ok
}

// workspace is WorkspaceFrom for handlers behind Require, where it is always set.
func workspace(r *http.Request) tasks.WorkspaceID {
	ws, _ := WorkspaceFrom(r.Context())
	return ws
}
