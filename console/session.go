package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// Cookie names. The session cookie holds a random id, never the key.
const (
	sessionCookie = "tasker_console"
	signinCookie  = "tasker_console_signin" // CSRF token of the sign-in form
	maxSessions   = 10000
)

// session is one sign-in.
type session struct {
	id      string
	ws      tasks.WorkspaceID
	keyID   string // a digest of the key, to count its streams
	csrf    string
	expires time.Time
}

// sessions live in this replica's memory: a restart signs everyone out,
// and behind a load balancer the console needs sticky sessions.
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	now func() time.Time
	ttl time.Duration
}

func newSessions(now func() time.Time, ttl time.Duration) *sessions {
	return &sessions{m: make(map[string]*session), now: now, ttl: ttl}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for ws, dropping expired ones (and, at the cap,
// the one closest to expiry) so memory stays bounded.
func (s *sessions) create(ws tasks.WorkspaceID, key string) *session {
	d := sha256.Sum256([]byte(key))
	se := &session{id: randomToken(), ws: ws, keyID: hex.EncodeToString(d[:12]), csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var oldest *session
	for id, o := range s.m {
		if !now.Before(o.expires) {
			delete(s.m, id)
		} else if oldest == nil || o.expires.Before(oldest.expires) {
			oldest = o
		}
	}
	if len(s.m) >= maxSessions && oldest != nil {
		delete(s.m, oldest.id)
	}
	s.m[se.id] = se
	return se
}

// get returns the live session of id.
func (s *sessions) get(id string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.m[id]
	if !ok {
		return nil, false
	}
	if !s.now().Before(se.expires) {
		delete(s.m, id)
		return nil, false
	}
	return se, true
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

type sessionKey struct{}

func sessionFrom(r *http.Request) (*session, bool) {
	se, ok := r.Context().Value(sessionKey{}).(*session)
	return se, ok
}

// secure reports whether the console is reached over HTTPS (directly or
// through a proxy that says so), so cookies get the Secure flag.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
}

// signedIn lets through requests with a live session; others go to the
// sign-in page (or get 401 for the event stream). On POST it checks the
// form's CSRF token.
func (c *Console) signedIn(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var se *session
		if ck, err := r.Cookie(sessionCookie); err == nil {
			se, _ = c.sessions.get(ck.Value)
		}
		if se == nil {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/stream") {
				http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !validToken(r.PostFormValue("csrf"), se.csrf) {
			http.Error(w, "the form is stale or forged: reload the page and try again", http.StatusForbidden)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, se)))
	})
}

func validToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// identify names the workspace and stream key of a signed-in request, for
// the event stream.
func (c *Console) identify(r *http.Request) (tasks.WorkspaceID, string, bool) {
	se, ok := sessionFrom(r)
	if !ok {
		return "", "", false
	}
	return se.ws, "console:" + se.keyID, true
}

// handleSigninForm serves GET /console/signin, with a fresh CSRF token
// bound to a cookie (there is no session yet to bind it to).
func (c *Console) handleSigninForm(w http.ResponseWriter, r *http.Request) {
	c.renderSignin(w, r, http.StatusOK, "")
}

func (c *Console) renderSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := randomToken()
	setCookie(w, r, signinCookie, token, 600)
	c.render(w, r, status, "signin", page{Title: "Sign in", CSRF: token, Error: msg})
}

// handleSignin serves POST /console/signin: the key must be a configured
// API key; the session works in its workspace.
func (c *Console) handleSignin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signinCookie)
	if err != nil || !validToken(r.PostFormValue("csrf"), ck.Value) {
		c.renderSignin(w, r, http.StatusForbidden, "The form expired; try again.")
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	probe := &http.Request{Header: http.Header{"X-Api-Key": {key}}}
	ws, ok := c.cfg.Authenticate(probe)
	if key == "" || !ok {
		c.renderSignin(w, r, http.StatusUnauthorized, "That is not an API key of this Tasker.")
		return
	}
	se := c.sessions.create(ws, key)
	setCookie(w, r, signinCookie, "", -1)
	setCookie(w, r, sessionCookie, se.id, int(c.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, Prefix+"tasks", http.StatusSeeOther)
}

// handleSignout serves POST /console/signout: the session ends here, not
// only in the browser.
func (c *Console) handleSignout(w http.ResponseWriter, r *http.Request) {
	se, _ := sessionFrom(r)
	c.sessions.remove(se.id)
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}
