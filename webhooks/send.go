package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"
)

// UserAgent identifies Tasker's deliveries to receivers.
const UserAgent = "Tasker-Webhooks/1"

// Tasker's own headers, beside the Standard Webhooks ones.
const (
	HeaderEvent     = "X-Tasker-Event"
	HeaderDelivery  = "X-Tasker-Delivery"
	HeaderLegacySig = "X-Tasker-Signature"
)

// maxResponse is how much of a receiver's answer the delivery log keeps.
const maxResponse = 1 << 10

// maxDrain bounds how much more of a response is read so the connection can
// be reused; past it, closing the connection is cheaper than reading on.
const maxDrain = 64 << 10

// Request is one message to deliver once.
type Request struct {
	URL       string   // the subscriber endpoint, checked by ValidateURL at registration
	MessageID string   // webhook-id: the event id, equal on every retry
	EventType string   // X-Tasker-Event, such as "task.completed"
	Body      []byte   // the JSON envelope, signed byte for byte
	Secrets   []string // the subscription's current secrets, newest first

	// DeliveryID is X-Tasker-Delivery; empty means a fresh "del_" id.
	DeliveryID string

	// Now is the clock for the timestamp and duration; nil means time.Now.
	Now func() time.Time
}

// Attempt records one delivery attempt for the delivery log.
type Attempt struct {
	ID         string        // the delivery id sent as X-Tasker-Delivery
	At         time.Time     // when the request was signed and sent
	StatusCode *int          // nil when no response arrived
	DurationMS int64         // from sending to the end of reading the response
	Error      string        // what went wrong, without the URL; empty if nothing did
	Response   string        // the first 1 KiB of the response body, valid UTF-8
	RetryAfter time.Duration // the receiver's Retry-After, capped at MaxRetryAfter
	Outcome    Outcome
}

// NewDeliveryID returns a fresh "del_" id: 128 random bits, so ids from any
// replica never collide.
func NewDeliveryID() string {
	return "del_" + rand.Text()
}

// Send makes one delivery attempt of req through client, which should come
// from NewHTTPClient. It never returns an error: every failure is recorded in
// the Attempt, whose Outcome tells the caller what to do next. Keeping one
// message from being sent twice at the same time is the caller's job.
func Send(ctx context.Context, client *http.Client, req Request) Attempt {
	now := req.Now
	if now == nil {
		now = time.Now
	}
	a := Attempt{ID: req.DeliveryID, At: now()}
	if a.ID == "" {
		a.ID = NewDeliveryID()
	}

	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		a.Error = errorText(err)
		a.Outcome = Fail // a URL that cannot make a request will not improve
		return a
	}
	h := hreq.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set(HeaderID, req.MessageID)
	h.Set(HeaderTimestamp, strconv.FormatInt(a.At.Unix(), 10))
	h.Set(HeaderEvent, req.EventType)
	h.Set(HeaderDelivery, a.ID)
	if len(req.Secrets) > 0 { // every subscription has one; stay well-formed without
		h.Set(HeaderSignature, Signatures(req.Secrets, req.MessageID, a.At, req.Body))
		h.Set(HeaderLegacySig, LegacySignature(req.Secrets[0], req.Body))
	}

	resp, err := client.Do(hreq)
	if err != nil {
		a.DurationMS = now().Sub(a.At).Milliseconds()
		a.Error = errorText(err)
		a.Outcome = Classify(0, err)
		return a
	}
	defer resp.Body.Close()

	status := resp.StatusCode
	a.StatusCode = &status
	a.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), now())
	head, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	a.Response = validPrefix(head, maxResponse)
	if readErr == nil {
		_, readErr = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	a.DurationMS = now().Sub(a.At).Milliseconds()
	// A body cut short does not undo the status: the receiver has answered.
	if readErr != nil {
		a.Error = "read response: " + errorText(readErr)
	} else if status >= 300 && status < 400 {
		a.Error = "redirect not followed"
	}
	a.Outcome = Classify(status, nil)
	return a
}

// errorText describes err for the delivery log. It drops the URL that
// *url.Error repeats, since subscriber URLs often embed an access token.
func errorText(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

// validPrefix returns at most limit bytes of b as valid UTF-8: a rune cut at
// the end is dropped and invalid bytes become U+FFFD, which never pushes the
// result past limit.
func validPrefix(b []byte, limit int) string {
	out := make([]byte, 0, min(len(b), limit))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && !utf8.FullRune(b) {
			break // the read stopped inside a rune
		}
		if len(out)+utf8.RuneLen(r) > limit {
			break
		}
		out = utf8.AppendRune(out, r)
		b = b[size:]
	}
	return string(out)
}
