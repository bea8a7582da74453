package cliq

import (
	"github.com/taskerhq/tasker/internal/httpx"

	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of a forwarded request (SPEC section 4.1).
const (
	HeaderTimestamp     = "X-Tasker-Timestamp"
	HeaderSignature     = "X-Tasker-Signature"
	HeaderCliqSignature = "X-Cliq-Signature"
)

// SignatureWindow is how far a request's timestamp may be from now, either way.
const SignatureWindow = 300 * time.Second

// ReplayGuard remembers signatures across replicas so a captured request
// cannot be played again on any route.
type ReplayGuard interface {
	// Seen records key for ttl and reports whether it was already recorded.
	// Recording and checking must be one atomic step (Redis SET NX).
	Seen(ctx context.Context, key string, ttl time.Duration) (seen bool, err error)
}

// Verifier authenticates requests from the Deluge forwarders (HMAC) and, when
// a public key is configured, from Cliq's webhook execution mode (RSA).
type Verifier struct {
	secret  []byte
	key     *rsa.PublicKey // nil: RSA mode off
	guard   ReplayGuard
	maxBody int64
	now     func() time.Time
}

// NewVerifier returns a Verifier for the shared secret. publicKeyPEM, when not
// empty, enables X-Cliq-Signature; maxBody caps bodies (413 beyond); guard
// remembers signatures; now is the clock.
func NewVerifier(secret string, publicKeyPEM []byte, guard ReplayGuard, maxBody int64, now func() time.Time) (*Verifier, error) {
	if secret == "" {
		return nil, errors.New("cliq: verifier secret is empty")
	}
	if guard == nil || now == nil || maxBody <= 0 {
		return nil, errors.New("cliq: verifier needs a replay guard, a clock and a positive body limit")
	}
	v := &Verifier{secret: []byte(secret), guard: guard, maxBody: maxBody, now: now}
	if len(bytes.TrimSpace(publicKeyPEM)) > 0 {
		key, err := ParsePublicKey(publicKeyPEM)
		if err != nil {
			return nil, err
		}
		v.key = key
	}
	return v, nil
}

// ParsePublicKey reads an RSA public key in PEM, as PKIX ("PUBLIC KEY") or
// PKCS#1 ("RSA PUBLIC KEY").
func ParsePublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("cliq: public key is not pem")
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cliq: parse public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("cliq: public key is not rsa")
	}
	return rk, nil
}

// Sign returns the X-Tasker-Signature value for body sent at Unix time ts:
// "v1=" and the lower-case hex HMAC-SHA256 of ts + "." + body.
func Sign(secret string, ts int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac([]byte(secret), ts, body))
}

func mac(secret []byte, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// parseSignatures returns the decoded v1 signatures of an X-Tasker-Signature
// value. Several may be given, separated by commas or spaces, so the secret
// can be rotated; entries of other versions or not 32 bytes of hex are skipped.
func parseSignatures(header string) [][]byte {
	var sigs [][]byte
	for _, f := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == ' ' }) {
		hexSig, ok := strings.CutPrefix(f, "v1=")
		if !ok || len(hexSig) != 2*sha256.Size {
			continue
		}
		sig, err := hex.DecodeString(hexSig)
		if err != nil {
			continue
		}
		sigs = append(sigs, sig)
	}
	return sigs
}

// Verify authenticates each request before next sees it: it reads the raw body
// (at most maxBody bytes), checks the signature over those bytes, rejects
// replays, and hands next the same bytes in r.Body. Failures answer 401 (413
// for a large body, 503 when the replay guard fails) with the API's JSON error
// and never reach next.
func (v *Verifier) Verify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			replayKey string
			ttl       time.Duration
		)
		body, status, problem := v.readBody(w, r)
		if problem == "" {
			switch {
			case r.Header.Get(HeaderSignature) != "":
				replayKey, ttl, problem = v.checkHMAC(r.Header, body)
			case r.Header.Get(HeaderCliqSignature) != "" && v.key != nil:
				replayKey, ttl, problem = v.checkRSA(r.Header, body)
			default:
				problem = "missing " + HeaderSignature + " header"
			}
			status = http.StatusUnauthorized
		}
		if problem != "" {
			writeError(w, status, problem)
			return
		}
		seen, err := v.guard.Seen(r.Context(), replayKey, ttl)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "cannot check for replayed requests")
			return
		}
		if seen {
			writeError(w, http.StatusUnauthorized, "replayed request")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// readBody reads the whole body within the limit. A problem other than ""
// comes with its status.
func (v *Verifier) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, string) {
	tooLarge := fmt.Sprintf("request body is larger than %d bytes", v.maxBody)
	if r.ContentLength > v.maxBody {
		return nil, http.StatusRequestEntityTooLarge, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, http.StatusRequestEntityTooLarge, tooLarge
		}
		return nil, http.StatusBadRequest, "cannot read request body"
	}
	return body, 0, ""
}

// checkHMAC verifies the forwarder's signature. It returns the replay key and
// how long to remember it, or a problem for the 401 answer.
func (v *Verifier) checkHMAC(h http.Header, body []byte) (key string, ttl time.Duration, problem string) {
	tsText := h.Get(HeaderTimestamp)
	if tsText == "" {
		return "", 0, "missing " + HeaderTimestamp + " header"
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", 0, "malformed " + HeaderTimestamp + " header"
	}
	now := v.now()
	sent := time.Unix(ts, 0)
	if d := now.Sub(sent); d > SignatureWindow || d < -SignatureWindow {
		return "", 0, "timestamp is outside the allowed window"
	}
	want := mac(v.secret, ts, body)
	matched := false
	for _, sig := range parseSignatures(h.Get(HeaderSignature)) {
		// Compare all, in constant time, so timing tells nothing.
		matched = hmac.Equal(sig, want) || matched
	}
	if !matched {
		return "", 0, "signature does not match"
	}
	// The key derives from the verified MAC, not from the header text, so
	// re-encoding the same signature (upper-case hex) is still a replay. The
	// request stays acceptable until sent+window, so remember it that long.
	return replayKey("v1", want), sent.Add(SignatureWindow).Sub(now) + time.Second, ""
}

// checkRSA verifies Cliq's own X-Cliq-Signature. Cliq signs no timestamp, so
// a replay is caught only while the guard remembers it (2 windows).
func (v *Verifier) checkRSA(h http.Header, body []byte) (key string, ttl time.Duration, problem string) {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h.Get(HeaderCliqSignature)))
	if err != nil {
		return "", 0, "malformed " + HeaderCliqSignature + " header"
	}
	digest := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(v.key, crypto.SHA256, digest[:], sig); err != nil {
		return "", 0, "signature does not match"
	}
	return replayKey("rsa", sig), 2 * SignatureWindow, ""
}

// replayKey hashes a signature so the guard's store never holds it.
func replayKey(kind string, sig []byte) string {
	sum := sha256.Sum256(sig)
	return "sig:" + kind + ":" + hex.EncodeToString(sum[:16])
}

// errorCodes maps the statuses the verifier answers to SPEC section 5 codes.
var errorCodes = map[int]string{
	http.StatusBadRequest:            "invalid_argument",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusRequestEntityTooLarge: "payload_too_large",
	http.StatusServiceUnavailable:    "unavailable",
}

// writeError answers in the API's error shape:
// {"error":{"code":"unauthenticated","message":"…"}}.
func writeError(w http.ResponseWriter, status int, message string) {
	httpx.WriteError(w, status, httpx.Error{Code: errorCodes[status], Message: message})
}

// MemoryReplayGuard is a ReplayGuard for one process, for tests and the
// embedded single-replica setup.
type MemoryReplayGuard struct {
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]time.Time // key → expiry
}

// NewMemoryReplayGuard returns an empty guard whose expiries follow now.
func NewMemoryReplayGuard(now func() time.Time) *MemoryReplayGuard {
	return &MemoryReplayGuard{now: now, keys: make(map[string]time.Time)}
}

// Seen records key for ttl and reports whether it was already recorded.
func (g *MemoryReplayGuard) Seen(_ context.Context, key string, ttl time.Duration) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for k, exp := range g.keys { // keeps the map to live keys only
		if !now.Before(exp) {
			delete(g.keys, k)
		}
	}
	if _, ok := g.keys[key]; ok {
		return true, nil
	}
	g.keys[key] = now.Add(ttl)
	return false, nil
}
