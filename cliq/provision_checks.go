package cliq

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ChannelExists reports whether a channel with unique name name is visible
// to the token's user (GET /api/v2/channels, scope ZohoCliq.Channels.READ),
// paging through at most maxListPages pages.
func (c *Client) ChannelExists(ctx context.Context, name string) (bool, error) {
	next := ""
	for range maxListPages {
		q := url.Values{"limit": {"100"}}
		if next != "" {
			q.Set("next_token", next)
		}
		req, err := c.newRequest(ctx, http.MethodGet, "api/v2/channels?"+q.Encode(), nil)
		if err != nil {
			return false, err
		}
		var page struct {
			Channels []struct {
				UniqueName string `json:"unique_name"`
			} `json:"channels"`
			NextToken string `json:"next_token"`
		}
		if err := c.do(req, &page); err != nil {
			return false, err
		}
		for _, ch := range page.Channels {
			if ch.UniqueName == name {
				return true, nil
			}
		}
		if page.NextToken == "" || page.NextToken == next {
			return false, nil
		}
		next = page.NextToken
	}
	return false, fmt.Errorf("cliq: list channels: more than %d pages", maxListPages)
}

// ServerDate returns the time in the Date header of Cliq's answer to a
// plain GET of baseURL, to compare clocks. No credentials are sent.
func ServerDate(ctx context.Context, hc *http.Client, baseURL string) (time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("cliq: server date: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("cliq: server date: %w", redactError{err})
	}
	resp.Body.Close()
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return time.Time{}, fmt.Errorf("cliq: server date: no usable Date header (%q)", resp.Header.Get("Date"))
	}
	return d, nil
}
