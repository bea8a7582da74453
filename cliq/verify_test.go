package cliq_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/cliq/cliqtest"
)

const testSecret = "tasker-secret"

var t0 = time.Date(2025, 3, 10, 9, 15, 2, 0, time.UTC)

func TestSign(t *testing.T) {
	// Computed independently (Python's hmac) from SPEC 4.1's definition.
	const want = "v1=c579e63c8127481b703eeb9e713cc1b5f841a2938dca185beef839ff2653b0d6"
	if got := cliq.Sign(testSecret, 1741594502, []byte(`{"user":{"id":"1"}}`)); got != want {
		t.Errorf("Sign() = %s, want %s", got, want)
	}
}

// newTestVerifier returns a verifier on a clock at t0 and the handler it
// guards, which echoes the body it receives.
func newTestVerifier(t *testing.T, publicKeyPEM []byte, guard cliq.ReplayGuard) (*cliqtest.Clock, http.Handler) {
	t.Helper()
	clock := cliqtest.NewClock(t0)
	if guard == nil {
		guard = cliq.NewMemoryReplayGuard(clock.Now)
	}
	v, err := cliq.NewVerifier(testSecret, publicKeyPEM, guard, 1024, clock.Now)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	return clock, v.Verify(echo)
}

func signedRequest(path, body string, ts time.Time, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set(cliq.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if sig == "" {
		sig = cliq.Sign(testSecret, ts.Unix(), []byte(body))
	}
	r.Header.Set(cliq.HeaderSignature, sig)
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// wantError checks the status and the SPEC 5 error shape.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d (body %s)", w.Code, status, w.Body)
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("body = %s, want error code %q with a message", w.Body, code)
	}
}

func TestVerify(t *testing.T) {
	const body = `{"handler":"command","user":{"id":"60012345678"}}`
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
	}{
		{"OK", func() *http.Request { return signedRequest("/cliq/commands/task", body, t0, "") }, http.StatusOK},
		{"OKAtWindowEdgePast", func() *http.Request {
			return signedRequest("/x", body, t0.Add(-cliq.SignatureWindow), "")
		}, http.StatusOK},
		{"OKAtWindowEdgeFuture", func() *http.Request {
			return signedRequest("/x", body, t0.Add(cliq.SignatureWindow), "")
		}, http.StatusOK},
		{"OKRotatedSecrets", func() *http.Request {
			other := cliq.Sign("old-secret", t0.Unix(), []byte(body))
			return signedRequest("/x", body, t0, other+","+cliq.Sign(testSecret, t0.Unix(), []byte(body)))
		}, http.StatusOK},
		{"MissingTimestamp", func() *http.Request {
			r := signedRequest("/x", body, t0, "")
			r.Header.Del(cliq.HeaderTimestamp)
			return r
		}, http.StatusUnauthorized},
		{"MissingSignature", func() *http.Request {
			r := signedRequest("/x", body, t0, "")
			r.Header.Del(cliq.HeaderSignature)
			return r
		}, http.StatusUnauthorized},
		{"MalformedTimestamp", func() *http.Request {
			r := signedRequest("/x", body, t0, "")
			r.Header.Set(cliq.HeaderTimestamp, "yesterday")
			return r
		}, http.StatusUnauthorized},
		{"WrongSecret", func() *http.Request {
			return signedRequest("/x", body, t0, cliq.Sign("wrong", t0.Unix(), []byte(body)))
		}, http.StatusUnauthorized},
		{"NoVersionPrefix", func() *http.Request {
			sig := strings.TrimPrefix(cliq.Sign(testSecret, t0.Unix(), []byte(body)), "v1=")
			return signedRequest("/x", body, t0, sig)
		}, http.StatusUnauthorized},
		{"StalePast", func() *http.Request {
			return signedRequest("/x", body, t0.Add(-cliq.SignatureWindow-time.Second), "")
		}, http.StatusUnauthorized},
		{"StaleFuture", func() *http.Request {
			return signedRequest("/x", body, t0.Add(cliq.SignatureWindow+time.Second), "")
		}, http.StatusUnauthorized},
		{"TamperedBody", func() *http.Request {
			r := signedRequest("/x", body, t0, "")
			tampered := strings.Replace(body, "600", "700", 1)
			r.Body = io.NopCloser(strings.NewReader(tampered))
			return r
		}, http.StatusUnauthorized},
		{"TimestampChanged", func() *http.Request {
			r := signedRequest("/x", body, t0, "")
			r.Header.Set(cliq.HeaderTimestamp, strconv.FormatInt(t0.Unix()+1, 10))
			return r
		}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, h := newTestVerifier(t, nil, nil)
			w := serve(h, tt.req())
			if tt.wantStatus != http.StatusOK {
				wantError(t, w, tt.wantStatus, "unauthenticated")
				return
			}
			if w.Code != http.StatusOK || w.Body.String() != body {
				t.Errorf("status %d, body %q; want 200 and the raw body passed on", w.Code, w.Body)
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	const body = `{"user":{"id":"1"}}`
	_, h := newTestVerifier(t, nil, nil)
	sig := cliq.Sign(testSecret, t0.Unix(), []byte(body))
	if w := serve(h, signedRequest("/cliq/commands/task", body, t0, sig)); w.Code != http.StatusOK {
		t.Fatalf("first request: status %d, want 200", w.Code)
	}
	t.Run("OtherRoute", func(t *testing.T) {
		wantError(t, serve(h, signedRequest("/cliq/functions/taskaction", body, t0, sig)), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("UpperCaseHex", func(t *testing.T) {
		upper := "v1=" + strings.ToUpper(strings.TrimPrefix(sig, "v1="))
		wantError(t, serve(h, signedRequest("/x", body, t0, upper)), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("NewTimestampIsNotReplay", func(t *testing.T) {
		if w := serve(h, signedRequest("/x", body, t0.Add(time.Second), "")); w.Code != http.StatusOK {
			t.Errorf("status %d, want 200", w.Code)
		}
	})
}

func TestVerifyBodyLimit(t *testing.T) {
	_, h := newTestVerifier(t, nil, nil)
	body := `{"user":{"id":"1"},"pad":"` + strings.Repeat("x", 2000) + `"}`
	r := signedRequest("/x", body, t0, "")
	wantError(t, serve(h, r), http.StatusRequestEntityTooLarge, "payload_too_large")

	r = signedRequest("/x", body, t0, "")
	r.ContentLength = -1 // unknown length: the reader's cap must still hold
	wantError(t, serve(h, r), http.StatusRequestEntityTooLarge, "payload_too_large")
}

type failingGuard struct{}

func (failingGuard) Seen(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("redis down")
}

func TestVerifyGuardFailureFailsClosed(t *testing.T) {
	_, h := newTestVerifier(t, nil, failingGuard{})
	wantError(t, serve(h, signedRequest("/x", `{}`, t0, "")), http.StatusServiceUnavailable, "unavailable")
}

func TestVerifyRSA(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	const body = `{"user":{"id":"1"},"message":"hi"}`
	sign := func(b string) string {
		digest := sha256.Sum256([]byte(b))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
	cliqRequest := func(b, sig string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/cliq/bot/message", strings.NewReader(b))
		r.Header.Set(cliq.HeaderCliqSignature, sig)
		return r
	}

	t.Run("OK", func(t *testing.T) {
		_, h := newTestVerifier(t, pemKey, nil)
		if w := serve(h, cliqRequest(body, sign(body))); w.Code != http.StatusOK || w.Body.String() != body {
			t.Errorf("status %d, body %q; want 200 and the body", w.Code, w.Body)
		}
	})
	t.Run("Replay", func(t *testing.T) {
		_, h := newTestVerifier(t, pemKey, nil)
		sig := sign(body)
		serve(h, cliqRequest(body, sig))
		wantError(t, serve(h, cliqRequest(body, sig)), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("TamperedBody", func(t *testing.T) {
		_, h := newTestVerifier(t, pemKey, nil)
		wantError(t, serve(h, cliqRequest(`{"user":{"id":"2"}}`, sign(body))), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("OtherKey", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte(body))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, other, crypto.SHA256, digest[:])
		_, h := newTestVerifier(t, pemKey, nil)
		wantError(t, serve(h, cliqRequest(body, base64.StdEncoding.EncodeToString(sig))), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("NotBase64", func(t *testing.T) {
		_, h := newTestVerifier(t, pemKey, nil)
		wantError(t, serve(h, cliqRequest(body, "%%%")), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("NoKeyConfigured", func(t *testing.T) {
		_, h := newTestVerifier(t, nil, nil)
		wantError(t, serve(h, cliqRequest(body, sign(body))), http.StatusUnauthorized, "unauthenticated")
	})
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	guard := cliq.NewMemoryReplayGuard(time.Now)
	if _, err := cliq.NewVerifier("", nil, guard, 1024, time.Now); err == nil {
		t.Error("NewVerifier with an empty secret succeeded")
	}
	if _, err := cliq.NewVerifier("s", []byte("not pem"), guard, 1024, time.Now); err == nil {
		t.Error("NewVerifier with a bad public key succeeded")
	}
}

func TestMemoryReplayGuardExpires(t *testing.T) {
	clock := cliqtest.NewClock(t0)
	g := cliq.NewMemoryReplayGuard(clock.Now)
	ctx := context.Background()
	for i, want := range []bool{false, true} {
		if seen, _ := g.Seen(ctx, "k", time.Minute); seen != want {
			t.Fatalf("Seen() call %d = %v, want %v", i, seen, want)
		}
	}
	clock.Advance(time.Minute)
	if seen, _ := g.Seen(ctx, "k", time.Minute); seen {
		t.Error("Seen() after the ttl = true, want false")
	}
}
