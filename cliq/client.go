package cliq

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Client calls the Cliq REST API (v2). Authentication belongs to the
// *http.Client it is given: wrap a TokenSource in a Transport for OAuth, or
// give a plain client for zapikey URLs and tests.
type Client struct {
	hc      *http.Client
	baseURL *url.URL // ends in "/"
	now     func() time.Time
	// FunctionOwner is the email of the Cliq user whose functions the
	// buttons invoke (TASKER_CLIQ_FUNCTION_OWNER); set, every function
	// button sent names it, so Cliq finds the function for other users.
	FunctionOwner string
}

// NewClient returns a client for the Cliq API at baseURL, e.g.
// https://cliq.zoho.eu (see LookupDataCenter). hc nil means
// http.DefaultClient. No credentials are needed to construct one.
func NewClient(hc *http.Client, baseURL string) (*Client, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cliq: api url %q is not an absolute http(s) url", baseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return &Client{hc: hc, baseURL: u, now: time.Now}, nil
}

// PostToChannel posts m to the channel with unique name channel, as the bot
// whose unique name is bot (empty: as the token's owner). The bot must be a
// participant of the channel. m is cut to Cliq's limits first; what cutting
// cannot fix is returned as a *ValidationError and nothing is sent.
func (c *Client) PostToChannel(ctx context.Context, channel, bot string, m Message) error {
	m, err := c.fit(m, ChannelPost)
	if err != nil {
		return fmt.Errorf("cliq: post to channel %s: %w", channel, err)
	}
	path := "api/v2/channelsbyname/" + url.PathEscape(channel) + "/message"
	if bot != "" {
		path += "?bot_unique_name=" + url.QueryEscape(bot)
	}
	req, err := c.newRequest(ctx, http.MethodPost, path, m)
	if err != nil {
		return err
	}
	return c.do(req, nil)
}

// SentMessage identifies a message Cliq delivered, for later edits.
type SentMessage struct {
	ChatID    string `json:"chat_id"`
	MessageID string `json:"message_id"`
}

// PostToBotUsers sends m through the bot to each user ID (ZUID) as a direct
// message, and returns what Cliq delivered, keyed by user ID. m is cut to
// Cliq's limits first; what cutting cannot fix is returned as a
// *ValidationError and nothing is sent.
func (c *Client) PostToBotUsers(ctx context.Context, bot string, userIDs []string, m Message) (map[string]SentMessage, error) {
	if len(userIDs) == 0 {
		return nil, errors.New("cliq: post to bot users: no user ids")
	}
	m, err := c.fit(m, BotMessage)
	if err != nil {
		return nil, fmt.Errorf("cliq: post to bot users: %w", err)
	}
	body := struct {
		Message
		UserIDs     string `json:"userids"` // one comma-separated string, as Cliq wants
		SyncMessage bool   `json:"sync_message"`
	}{m, strings.Join(userIDs, ","), true}
	req, err := c.newRequest(ctx, http.MethodPost, "api/v2/bots/"+url.PathEscape(bot)+"/message", body)
	if err != nil {
		return nil, err
	}
	var out struct {
		MessageDetails map[string]SentMessage `json:"message_details"`
	}
	if err := c.do(req, &out); err != nil {
		return nil, err
	}
	return out.MessageDetails, nil
}

// PostToChat posts m into the chat with id chatID (a DM, group, channel chat
// or thread). m is cut to Cliq's limits first; what cutting cannot fix is
// returned as a *ValidationError and nothing is sent.
func (c *Client) PostToChat(ctx context.Context, chatID string, m Message) error {
	m, err := c.fit(m, ChatPost)
	if err != nil {
		return fmt.Errorf("cliq: post to chat %s: %w", chatID, err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, "api/v2/chats/"+url.PathEscape(chatID)+"/message", m)
	if err != nil {
		return err
	}
	return c.do(req, nil)
}

// PostToWebhookURL posts m to a full Cliq URL authenticated by its ?zapikey=,
// such as a channel or bot message URL. The key never appears in errors.
// m is cut to Cliq's limits first; what cutting cannot fix is returned as a
// *ValidationError and nothing is sent.
func (c *Client) PostToWebhookURL(ctx context.Context, rawURL string, m Message) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("cliq: webhook url %q is not an absolute http(s) url", RedactURL(rawURL))
	}
	m, err = c.fit(m, ChannelPost) // channel and bot message URLs share these rules
	if err != nil {
		return fmt.Errorf("cliq: post to webhook url: %w", err)
	}
	req, err := c.newRequest(ctx, http.MethodPost, u.String(), m)
	if err != nil {
		return err
	}
	return c.do(req, nil)
}

// fit cuts m to Cliq's limits and checks what is left for d: a message
// Cliq would refuse is not worth a call against the rate limit (REFERENCE
// §4.5).
func (c *Client) fit(m Message, d Destination) (Message, error) {
	m = m.Truncate().WithFunctionOwner(c.FunctionOwner)
	return m, m.ValidateFor(d)
}

// newRequest builds a request for path, resolved against the base URL (an
// absolute URL is used as is), with body as JSON.
func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	u, err := c.baseURL.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("cliq: bad path %q", RedactURL(path))
	}
	var buf io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("cliq: encode %s %s: %w", method, u.Path, err)
		}
		buf = bytes.NewReader(b) // lets Transport rewind the body for its retry
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), buf)
	if err != nil {
		return nil, fmt.Errorf("cliq: new request: %v", RedactURL(err.Error()))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// do sends req and decodes a JSON answer into v (nil: discard). Non-2xx
// answers become *APIError. Errors name the method and path, never the query,
// which may hold a zapikey.
func (c *Client) do(req *http.Request, v any) error {
	op := req.Method + " " + req.URL.Path
	resp, err := c.hc.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its text repeats the URL
		}
		if strings.HasPrefix(err.Error(), "cliq: ") {
			return err // ours, from the Transport's token source
		}
		return fmt.Errorf("cliq: %s: %w", op, redactError{err})
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) // lets the connection be reused
		resp.Body.Close()
	}()
	if err := checkResponse(resp, op, c.now()); err != nil {
		return err
	}
	if v == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("cliq: %s: read answer: %w", op, err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // any 2xx is success; Cliq often sends no body
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("cliq: %s: decode answer: %w", op, err)
	}
	return nil
}

// redactError hides credential query parameters that a wrapped error's text
// may carry, keeping the error itself for errors.Is and errors.As.
type redactError struct{ err error }

func (e redactError) Error() string { return RedactURL(e.err.Error()) }
func (e redactError) Unwrap() error { return e.err }

// secretParam matches the query parameters that carry credentials.
var secretParam = regexp.MustCompile(`(?i)\b(zapikey|appkey|access_token|refresh_token|client_secret)=[^&\s"']*`)

// RedactURL replaces the values of credential query parameters (zapikey,
// appkey, tokens, client secret) in s with REDACTED. s may be a URL or any
// text that contains one.
func RedactURL(s string) string {
	return secretParam.ReplaceAllString(s, "${1}=REDACTED")
}
