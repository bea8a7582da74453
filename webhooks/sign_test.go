package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/webhooks"
)

// refKey derives a key as the Standard Webhooks specification and SPEC.md 8.3
// describe it, written apart from sign.go so the two can disagree: the
// decoded rest of a "whsec_" secret, else the string itself.
func refKey(t testing.TB, secret string) []byte {
	t.Helper()
	if strings.HasPrefix(secret, "whsec_") {
		if key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):]); err == nil {
			return key
		}
	}
	return []byte(secret)
}

// refSign is one v1 signature of id, ts and body under secret, computed
// from the published algorithm.
func refSign(t testing.TB, secret, id, ts string, body []byte) string {
	t.Helper()
	mac := hmac.New(sha256.New, refKey(t, secret))
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// refVerify reports whether sigHeader holds a v1 signature of id, ts and
// body under secret.
func refVerify(t testing.TB, secret, id, ts, sigHeader string, body []byte) bool {
	t.Helper()
	want := refSign(t, secret, id, ts, body)
	for _, sig := range strings.Split(sigHeader, " ") {
		if sig == want {
			return true
		}
	}
	return false
}

// refLegacy is the expected X-Tasker-Signature of body under secret.
func refLegacy(t testing.TB, secret string, body []byte) string {
	t.Helper()
	mac := hmac.New(sha256.New, refKey(t, secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestNewSecret(t *testing.T) {
	a, b := webhooks.NewSecret(), webhooks.NewSecret()
	if a == b {
		t.Fatalf("NewSecret() twice = %q both times", a)
	}
	rest, ok := strings.CutPrefix(a, "whsec_")
	if !ok {
		t.Fatalf("NewSecret() = %q, want whsec_ prefix", a)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) != 32 {
		t.Fatalf("NewSecret() key = %d bytes, %v; want 32 bytes", len(key), err)
	}
}

// TestSignaturesKnownAnswer checks the test vector published with the
// Standard Webhooks reference libraries.
func TestSignaturesKnownAnswer(t *testing.T) {
	got := webhooks.Signatures([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		"msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got != want {
		t.Fatalf("Signatures(known vector) = %q, want %q", got, want)
	}
}

func TestSignatures(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"task.created"}`)
	ts := time.Unix(1767225600, 0)
	tests := []struct {
		name    string
		secrets []string
	}{
		{"Whsec", []string{webhooks.NewSecret()}},
		{"RawSecret", []string{"my own shared secret"}},
		{"Rotation", []string{webhooks.NewSecret(), webhooks.NewSecret()}},
		{"RotationMixed", []string{"plain-new", webhooks.NewSecret()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := webhooks.Signatures(tt.secrets, "evt_1", ts, body)
			sigs := strings.Split(header, " ")
			if len(sigs) != len(tt.secrets) {
				t.Fatalf("Signatures() = %q, want %d signatures", header, len(tt.secrets))
			}
			for i, s := range tt.secrets {
				// Each signature verifies alone with its own secret, in order.
				if !refVerify(t, s, "evt_1", "1767225600", sigs[i], body) {
					t.Errorf("signature %d does not verify with secret %d", i, i)
				}
			}
			if refVerify(t, "whsec_"+base64.StdEncoding.EncodeToString([]byte("other")), "evt_1", "1767225600", header, body) {
				t.Error("signatures verify with an unrelated secret")
			}
		})
	}
}

func TestLegacySignature(t *testing.T) {
	body := []byte(`{"a":1}`)
	for _, secret := range []string{webhooks.NewSecret(), "plain", "whsec_not base64!"} {
		if got, want := webhooks.LegacySignature(secret, body), refLegacy(t, secret, body); got != want {
			t.Errorf("LegacySignature(%q) = %q, want %q", secret, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	secret, other := webhooks.NewSecret(), webhooks.NewSecret()
	body := []byte(`{"id":"evt_9"}`)
	sent := time.Unix(1767225600, 0)
	headers := func(secrets []string, ts time.Time, id string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		h.Set("webhook-signature", webhooks.Signatures(secrets, id, ts, body))
		return h
	}
	tests := []struct {
		name    string
		h       http.Header
		body    []byte
		now     time.Time
		wantErr error
	}{
		{"OK", headers([]string{secret}, sent, "evt_9"), body, sent, nil},
		{"OKRotated", headers([]string{other, secret}, sent, "evt_9"), body, sent, nil},
		{"OKWithinTolerance", headers([]string{secret}, sent, "evt_9"), body, sent.Add(5 * time.Minute), nil},
		{"Stale", headers([]string{secret}, sent, "evt_9"), body, sent.Add(5*time.Minute + time.Second), webhooks.ErrTimestamp},
		{"Future", headers([]string{secret}, sent, "evt_9"), body, sent.Add(-6 * time.Minute), webhooks.ErrTimestamp},
		{"WrongSecret", headers([]string{other}, sent, "evt_9"), body, sent, webhooks.ErrInvalidSignature},
		{"TamperedBody", headers([]string{secret}, sent, "evt_9"), []byte(`{"id":"evt_8"}`), sent, webhooks.ErrInvalidSignature},
		{"Missing", http.Header{}, body, sent, webhooks.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhooks.Verify(secret, tt.h, tt.body, tt.now, webhooks.DefaultTolerance)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verify() = %v, want %v", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("Verify() error %q contains the secret", err)
			}
		})
	}
}
