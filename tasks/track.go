package tasks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// A track REF is what follows "track:" in a "Track as task" button's key:
//
//	<code>:<url>
//
// code names the source ("gl", "gh", "x" for generic cards; the extension
// package writes REFs on its cards) and url is the
// tracked item's web address, written without "https://" (an http URL keeps
// its "http://"). For example "gh:github.com/Codertocat/Hello-World/issues/1".
//
// The REF carries everything the task needs, so nothing is stored when a card
// is posted and a click long after still works on any replica: the URL
// becomes the task's source_url and, as "track:<url>", its external_id, which
// makes a second click (or a click on another card about the same issue)
// find the first task instead of making another. The title comes from the
// clicked card when the caller has it, else from the URL's shape
// ("Issue #1 in Codertocat/Hello-World").
//
// Cliq caps a button key at 100 characters, so a REF has at most 94. Long
// commit URLs are shortened to a 12-character SHA, which both GitLab and
// GitHub resolve; a card whose item URL still does not fit gets no button.

// TrackKeyPrefix starts the key of every "Track as task" button; the rest of
// the key is the REF that Track takes.
const TrackKeyPrefix = "track:"

// maxRef is the longest REF that fits a button key, which Cliq caps at 100.
const maxRef = 100 - len(TrackKeyPrefix)

// ErrInvalidRef means a track REF is not one TrackRef wrote.
var ErrInvalidRef = errors.New("tasks: invalid track reference")

var (
	refCodeRe     = regexp.MustCompile(`^[a-z]{1,8}$`)
	longCommitRe  = regexp.MustCompile(`(/commits?/[0-9a-f]{12})[0-9a-f]{28}`)
	externalIDTag = "track:"
)

// TrackRef returns the REF of the item at rawURL for source code, and false
// when the URL is not a web URL or does not fit a button key.
func TrackRef(code, rawURL string) (string, bool) {
	u := SafeWebURL(rawURL)
	if u == "" {
		return "", false
	}
	u, _, _ = strings.Cut(u, "#") // a note's anchor: track the item it is on
	ref := code + ":" + strings.TrimPrefix(u, "https://")
	if len(ref) > maxRef {
		ref = longCommitRe.ReplaceAllString(ref, "${1}")
	}
	if len(ref) > maxRef {
		return "", false
	}
	return ref, true
}

// parseTrackRef splits a REF into its source code and item URL.
func parseTrackRef(ref string) (code, itemURL string, err error) {
	code, rest, ok := strings.Cut(ref, ":")
	if !ok || !refCodeRe.MatchString(code) || rest == "" || len(ref) > 200 {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidRef, ref)
	}
	itemURL = rest
	if !strings.HasPrefix(rest, "http://") {
		itemURL = "https://" + rest
	}
	if SafeWebURL(itemURL) != itemURL || strings.Contains(itemURL, "#") {
		return "", "", fmt.Errorf("%w: %q", ErrInvalidRef, ref)
	}
	return code, itemURL, nil
}

// Track creates the task that a "Track as task" button (key "track:"+ref)
// asks for, in workspace ws on behalf of actor. title is the title of the
// card that held the button (the button function's message.card.title) when
// the caller has it; empty, a title is derived from ref.
//
// Tracking is idempotent per item: the task's external_id is derived from
// ref, so a second click, a concurrent click or a click on another card
// about the same item returns the existing task with created false.
//
// Errors: ErrInvalidRef (wrapped) for a REF TrackRef did not write;
// *ValidationError should not happen; others are the store's.
func (s *Store) Track(ctx context.Context, ws WorkspaceID, actor Actor, ref, title string) (t Task, created bool, err error) {
	_, itemURL, err := parseTrackRef(ref)
	if err != nil {
		return Task{}, false, err
	}
	extID := externalIDTag + itemURL
	if t, err := s.TaskByExternalID(ctx, ws, extID); !errors.Is(err, ErrNotFound) {
		return t, false, err
	}
	title = cutTitle(strings.TrimSpace(CleanText(title, false)))
	if title == "" {
		title = trackTitle(itemURL)
	}
	in := NewTask{
		Title:       title,
		Description: fmt.Sprintf("Tracked from %s: %s", itemHost(itemURL), itemURL),
		ExternalID:  &extID,
		SourceURL:   &itemURL,
	}
	t, _, err = s.CreateTask(ctx, ws, actor, in, nil)
	if errors.Is(err, ErrConflict) {
		// Another click won the race for this external id: return its task.
		t, err = s.TaskByExternalID(ctx, ws, extID)
		return t, false, err
	}
	if err != nil {
		return Task{}, false, fmt.Errorf("tasks: track %s: %w", ref, err)
	}
	return t, true, nil
}

// SafeWebURL returns u trimmed, with the characters that would end a
// markdown link escaped, when it is an absolute http(s) URL without user
// information; else "".
func SafeWebURL(u string) string {
	u = strings.TrimSpace(u)
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return ""
	}
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29").Replace(u)
}

// itemHost is the host of a tracked item's URL.
func itemHost(itemURL string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(itemURL, "https://"), "http://")
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// cutTitle cuts s to MaxTitle code points, the last an ellipsis.
func cutTitle(s string) string {
	if utf8.RuneCountInString(s) <= MaxTitle {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:MaxTitle-1])) + "…"
}

// itemShapes name an item by the shape of its URL path, for tasks tracked
// without the card's title. Both GitLab ("/-/issues/") and GitHub forms match.
var itemShapes = []struct {
	re     *regexp.Regexp
	format string // %[1]s: project path, %[2]s: the item's number or id
}{
	{regexp.MustCompile(`^/(.+?)(?:/-)?/issues/(\d+)/?$`), "Issue #%[2]s in %[1]s"},
	{regexp.MustCompile(`^/(.+?)/pull/(\d+)/?$`), "Pull request #%[2]s in %[1]s"},
	{regexp.MustCompile(`^/(.+?)(?:/-)?/merge_requests/(\d+)/?$`), "Merge request !%[2]s in %[1]s"},
	{regexp.MustCompile(`^/(.+?)(?:/-)?/commits?/([0-9a-f]{7,8})[0-9a-f]*/?$`), "Commit %[2]s in %[1]s"},
	{regexp.MustCompile(`^/(.+?)(?:/-)?/pipelines/(\d+)/?$`), "Pipeline #%[2]s in %[1]s"},
	{regexp.MustCompile(`^/(.+?)(?:/-)?/snippets/(\d+)/?$`), "Snippet $%[2]s in %[1]s"},
	{regexp.MustCompile(`^/(.+?)(?:/-)?/compare/([^/]+)$`), "Changes %[2]s in %[1]s"},
}

// trackTitle derives a task title from a tracked item's URL.
func trackTitle(itemURL string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(itemURL, "https://"), "http://")
	host, path, _ := strings.Cut(rest, "/")
	path, _, _ = strings.Cut("/"+path, "?")
	for _, s := range itemShapes {
		if m := s.re.FindStringSubmatch(path); m != nil {
			return cutTitle(fmt.Sprintf(s.format, m[1], m[2]))
		}
	}
	return cutTitle(fmt.Sprintf("Item %s%s", host, strings.TrimSuffix(path, "/")))
}
