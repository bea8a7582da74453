package extension

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

func init() { register(github{}) }

// github describes GitHub's repository webhooks: issues, pull_request, push,
// issue_comment and ping. GitHub names the event only in X-GitHub-Event;
// without that header (a forwarder that dropped it) the event is inferred
// from the body's shape.
type github struct{}

func (github) Name() string { return "GitHub" }
func (github) Code() string { return "gh" }

func (github) Detect(p Payload) bool {
	if p.Header.Get("X-GitHub-Event") != "" {
		return true
	}
	var probe struct {
		Sender *struct {
			Login string `json:"login"`
		} `json:"sender"`
		Repository json.RawMessage `json:"repository"`
		Hook       json.RawMessage `json:"hook"`
	}
	return json.Unmarshal(p.Body, &probe) == nil && probe.Sender != nil && probe.Sender.Login != "" &&
		(probe.Repository != nil || probe.Hook != nil)
}

type ghUser struct {
	Login string `json:"login"`
}

func (u *ghUser) display() string {
	if u == nil {
		return ""
	}
	return u.Login
}

type ghLabel struct {
	Name string `json:"name"`
}

type ghIssue struct {
	Number    flexString `json:"number"`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	HTMLURL   string     `json:"html_url"`
	State     string     `json:"state"`
	Draft     bool       `json:"draft"`
	Labels    []ghLabel  `json:"labels"`
	Assignees []ghUser   `json:"assignees"`
	Milestone *struct {
		Title string `json:"title"`
	} `json:"milestone"`
	// PullRequest is set on an issue that is really a pull request.
	PullRequest json.RawMessage `json:"pull_request"`
}

type ghPull struct {
	ghIssue
	Merged             bool       `json:"merged"`
	RequestedReviewers []ghUser   `json:"requested_reviewers"`
	Additions          flexString `json:"additions"`
	Deletions          flexString `json:"deletions"`
	ChangedFiles       flexString `json:"changed_files"`
	Head               struct {
		Ref string `json:"ref"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

type ghCommit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	URL     string `json:"url"`
	Author  struct {
		Name string `json:"name"`
	} `json:"author"`
}

type ghPayload struct {
	Action      string   `json:"action"`
	Issue       *ghIssue `json:"issue"`
	PullRequest *ghPull  `json:"pull_request"`
	Comment     *struct {
		Body    string `json:"body"`
		HTMLURL string `json:"html_url"`
	} `json:"comment"`
	Repository *struct {
		FullName string `json:"full_name"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
	Sender     *ghUser    `json:"sender"`
	Ref        string     `json:"ref"`
	After      string     `json:"after"`
	Created    bool       `json:"created"`
	Deleted    bool       `json:"deleted"`
	Forced     bool       `json:"forced"`
	Compare    string     `json:"compare"`
	Commits    []ghCommit `json:"commits"`
	HeadCommit *ghCommit  `json:"head_commit"`
	Pusher     *struct {
		Name string `json:"name"`
	} `json:"pusher"`
	Zen    string     `json:"zen"`
	HookID flexString `json:"hook_id"`
	Hook   *struct {
		Events []string `json:"events"`
	} `json:"hook"`
}

func (github) Decode(p Payload) (Notice, error) {
	var pl ghPayload
	if err := json.Unmarshal(p.Body, &pl); err != nil {
		return Notice{}, fmt.Errorf("extension: github payload: %w", err)
	}
	event := p.Header.Get("X-GitHub-Event")
	if event == "" {
		event = ghInferEvent(pl)
	}
	n := Notice{Event: joinNonEmpty(".", event, pl.Action), Actor: pl.Sender.display()}
	if r := pl.Repository; r != nil {
		n.Where, n.WhereURL = r.FullName, r.HTMLURL
	}
	switch {
	case event == "issues" && pl.Issue != nil:
		ghIssueNotice(&n, pl)
	case event == "pull_request" && pl.PullRequest != nil:
		ghPullNotice(&n, pl)
	case event == "issue_comment" && pl.Issue != nil && pl.Comment != nil:
		ghCommentNotice(&n, pl)
	case event == "push":
		ghPushNotice(&n, pl)
	case event == "ping":
		ghPingNotice(&n, pl)
	default:
		return Notice{}, errUnsupported
	}
	return n, nil
}

// ghInferEvent guesses the event of a payload that came without its header.
func ghInferEvent(pl ghPayload) string {
	switch {
	case pl.Zen != "" && pl.Hook != nil:
		return "ping"
	case pl.Comment != nil && pl.Issue != nil:
		return "issue_comment"
	case pl.PullRequest != nil:
		return "pull_request"
	case pl.Issue != nil:
		return "issues"
	case pl.Ref != "" && pl.Pusher != nil:
		return "push"
	}
	return ""
}

// ghItemFields are the details shared by issues and pull requests.
func ghItemFields(is ghIssue) []fieldList {
	labels := make([]string, 0, len(is.Labels))
	for _, l := range is.Labels {
		labels = append(labels, l.Name)
	}
	assignees := make([]string, 0, len(is.Assignees))
	for _, u := range is.Assignees {
		assignees = append(assignees, u.Login)
	}
	milestone := ""
	if is.Milestone != nil {
		milestone = is.Milestone.Title
	}
	return []fieldList{
		{"Labels", labels},
		{"Assignees", assignees},
		{"Milestone", []string{milestone}},
	}
}

// fieldList is a details field whose value is a list.
type fieldList struct {
	label  string
	values []string
}

func appendFields(n *Notice, lists []fieldList) {
	for _, l := range lists {
		n.Fields = append(n.Fields, field(l.label, joinNonEmpty(", ", l.values...)))
	}
}

func ghIssueNotice(n *Notice, pl ghPayload) {
	is := pl.Issue
	n.Title = is.Title
	n.Action, n.Object = firstNonEmpty(humanize(pl.Action), "updated")+" issue", "#"+string(is.Number)
	n.URL, n.Track = is.HTMLURL, is.HTMLURL
	n.Fields = append(n.Fields, field("State", is.State))
	appendFields(n, ghItemFields(*is))
	n.Excerpt, n.ExcerptTitle = is.Body, "Description"
}

func ghPullNotice(n *Notice, pl ghPayload) {
	pr := pl.PullRequest
	verb := firstNonEmpty(humanize(pl.Action), "updated")
	switch {
	case pl.Action == "closed" && pr.Merged:
		verb = "merged"
	case pl.Action == "synchronize":
		verb = "pushed to"
	case pl.Action == "review_requested":
		verb = "requested a review of"
	}
	state := pr.State
	if pr.Draft {
		state += " (draft)"
	}
	reviewers := make([]string, 0, len(pr.RequestedReviewers))
	for _, u := range pr.RequestedReviewers {
		reviewers = append(reviewers, u.Login)
	}
	n.Title = pr.Title
	n.Action, n.Object = verb+" pull request", "#"+string(pr.Number)
	n.URL, n.Track = pr.HTMLURL, pr.HTMLURL
	n.Fields = append(n.Fields,
		field("Branches", joinNonEmpty(" → ", pr.Head.Ref, pr.Base.Ref)),
		field("State", state),
		field("Changes", ghChanges(pr)))
	appendFields(n, append([]fieldList{{"Reviewers", reviewers}}, ghItemFields(pr.ghIssue)...))
	n.Excerpt, n.ExcerptTitle = pr.Body, "Description"
}

// ghChanges summarises a pull request's diff: "+1 −1 in 1 file".
func ghChanges(pr *ghPull) string {
	if pr.Additions == "" && pr.Deletions == "" {
		return ""
	}
	files := ""
	if pr.ChangedFiles == "1" {
		files = " in 1 file"
	} else if pr.ChangedFiles != "" {
		files = " in " + string(pr.ChangedFiles) + " files"
	}
	return fmt.Sprintf("+%s −%s%s", pr.Additions, pr.Deletions, files)
}

func ghCommentNotice(n *Notice, pl ghPayload) {
	is := pl.Issue
	kind := "issue"
	if len(is.PullRequest) > 0 && !bytes.Equal(bytes.TrimSpace(is.PullRequest), []byte("null")) {
		kind = "pull request"
	}
	verb := "commented on"
	switch pl.Action {
	case "edited":
		verb = "edited a comment on"
	case "deleted":
		verb = "deleted a comment on"
	}
	n.Title = is.Title
	n.Action, n.Object = verb+" "+kind, "#"+string(is.Number)
	n.URL, n.Track = firstNonEmpty(pl.Comment.HTMLURL, is.HTMLURL), is.HTMLURL
	n.Excerpt, n.ExcerptTitle = pl.Comment.Body, "Comment"
}

func ghPushNotice(n *Notice, pl ghPayload) {
	if n.Actor == "" && pl.Pusher != nil {
		n.Actor = pl.Pusher.Name
	}
	kind, name := "branch", strings.TrimPrefix(pl.Ref, "refs/heads/")
	if strings.HasPrefix(pl.Ref, "refs/tags/") {
		kind, name = "tag", strings.TrimPrefix(pl.Ref, "refs/tags/")
	}
	count := plural(len(pl.Commits), "commit")
	switch {
	case pl.Deleted:
		n.Action, n.Object, n.Title = "deleted "+kind, name, fmt.Sprintf("%s %s deleted", capitalize(kind), name)
		n.Track = n.WhereURL
	case pl.Created:
		n.Action, n.Object, n.Title = "created "+kind, name, fmt.Sprintf("%s %s created", capitalize(kind), name)
		n.URL = pl.Compare
	default:
		verb := "pushed "
		if pl.Forced {
			verb = "force-pushed "
		}
		n.Action, n.Object, n.URL = verb+count+" to", name, pl.Compare
		n.Title = fmt.Sprintf("%s pushed to %s", count, name)
	}
	for _, c := range pl.Commits {
		n.List = append(n.List, fmt.Sprintf("%s %s (%s)", shortSHA(c.ID), oneLine(c.Message), c.Author.Name))
	}
	n.ListTitle = "Commits"
	if n.Track == "" {
		n.Track = n.URL
	}
	if n.Track == "" && pl.HeadCommit != nil {
		n.Track = pl.HeadCommit.URL
	}
}

func ghPingNotice(n *Notice, pl ghPayload) {
	n.Title = "GitHub webhook connected"
	n.Action = "connected a webhook"
	if n.Where != "" {
		n.Action += " to"
		n.Object, n.URL, n.Where, n.WhereURL = n.Where, n.WhereURL, "", ""
	}
	events := []string(nil)
	if pl.Hook != nil {
		events = pl.Hook.Events
	}
	n.Fields = append(n.Fields,
		field("Events", strings.Join(events, ", ")),
		field("Hook", string(pl.HookID)),
		field("Zen", pl.Zen))
	// A ping is about the webhook, not an item: there is nothing to track.
}
