// Package webhooks sends Tasker's outgoing webhooks (SPEC.md section 8).
//
// One half of the package holds the transport pieces that need no storage:
// secrets and Standard Webhooks signatures (sign.go), the SSRF guard for
// subscriber URLs and the HTTP client that enforces it when dialling
// (ssrf.go), the retry rules (retry.go) and one delivery attempt (send.go).
// The other half, Service, keeps subscriptions and the delivery log in its
// own Redis store (store.go, messagestore.go, attemptstore.go, keys.go),
// fans events out in order when the pipeline's event jobs call it
// (fanout.go, deliver.go), and delivers from batches its lanes lease, send
// and settle (engine.go, service.go, deliveries.go).
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// secretPrefix marks a Standard Webhooks secret: the rest is the base64 key.
const secretPrefix = "whsec_"

// Header names of the Standard Webhooks specification. They are
// case-insensitive on the wire; Go sends them in canonical form.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's
// clock before Verify refuses it, the value the Standard Webhooks libraries use.
const DefaultTolerance = 5 * time.Minute

// ErrInvalidSignature is returned by Verify when headers are missing or no
// signature matches the secret.
var ErrInvalidSignature = errors.New("webhooks: invalid signature")

// ErrTimestamp is returned by Verify when webhook-timestamp is unreadable or
// outside the tolerance window, which stops replays of old messages.
var ErrTimestamp = errors.New("webhooks: timestamp outside tolerance")

// NewSecret returns a fresh signing secret: "whsec_" followed by the standard
// base64 of 32 random bytes, the form Standard Webhooks receivers expect.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand aborts the process instead
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey derives the HMAC key of secret. A "whsec_" secret's key is the
// base64-decoded rest; any other string (a user's own secret, or a "whsec_"
// one that does not decode) is used as raw bytes, as SPEC.md 8.3 says.
func secretKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, secretPrefix); ok {
		if key, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return key
		}
	}
	return []byte(secret)
}

// sign returns the base64 HMAC-SHA256 of "msgID.timestamp.body" under secret.
func sign(secret, msgID string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, secretKey(secret))
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(unix, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Signatures returns the webhook-signature header value for a message sent at
// ts: one "v1,<base64>" per secret, space-separated, in the order given.
// Callers pass the newest secret first; during a rotation every current
// secret signs, so receivers holding either the old or the new one verify.
func Signatures(secrets []string, msgID string, ts time.Time, body []byte) string {
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		sigs[i] = "v1," + sign(s, msgID, ts.Unix(), body)
	}
	return strings.Join(sigs, " ")
}

// LegacySignature returns the X-Tasker-Signature header value: "sha256=" and
// the hex HMAC-SHA256 of body alone, keyed like Signatures. It is for tools
// that only check GitHub-style signatures; pass the newest secret.
func LegacySignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, secretKey(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received message the way a Standard Webhooks receiver does:
// the webhook-timestamp must lie within tolerance of now, and one of the
// space-separated webhook-signature entries must be the v1 signature of the
// webhook-id, timestamp and body under secret. It returns nil, or an error
// wrapping ErrInvalidSignature or ErrTimestamp.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing webhook headers", ErrInvalidSignature)
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: unreadable timestamp", ErrTimestamp)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := []byte(sign(secret, id, unix, body))
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if ok && version == "v1" && hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrInvalidSignature
}
