package extension

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

func init() { register(gitlab{}) }

// gitlab describes GitLab's project webhooks: issue, merge_request, push and
// tag_push, note (on issues, merge requests, commits and snippets) and
// pipeline. GitLab names the event in X-Gitlab-Event and again in the body's
// object_kind, which is what decoding trusts.
type gitlab struct{}

func (gitlab) Name() string { return "GitLab" }
func (gitlab) Code() string { return "gl" }

func (gitlab) Detect(p Payload) bool {
	if p.Header.Get("X-Gitlab-Event") != "" {
		return true
	}
	var probe struct {
		ObjectKind string `json:"object_kind"`
	}
	return json.Unmarshal(p.Body, &probe) == nil && probe.ObjectKind != ""
}

type glUser struct {
	Name     string `json:"name"`
	Username string `json:"username"`
}

func (u *glUser) display() string {
	if u == nil {
		return ""
	}
	return firstNonEmpty(u.Name, u.Username)
}

type glProject struct {
	Name              string `json:"name"`
	PathWithNamespace string `json:"path_with_namespace"`
	WebURL            string `json:"web_url"`
}

func (p glProject) display() string { return firstNonEmpty(p.PathWithNamespace, p.Name) }

type glCommit struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Message string `json:"message"`
	URL     string `json:"url"`
	Author  struct {
		Name string `json:"name"`
	} `json:"author"`
}

func (c glCommit) title() string { return firstNonEmpty(c.Title, oneLine(c.Message)) }

type glLabel struct {
	Title string `json:"title"`
}

// glItem is an issue, merge request or snippet a note refers to.
type glItem struct {
	IID   flexString `json:"iid"`
	ID    flexString `json:"id"`
	Title string     `json:"title"`
}

// glAttrs holds object_attributes of every supported kind; each kind reads
// the fields it has.
type glAttrs struct {
	ID             flexString `json:"id"`
	IID            flexString `json:"iid"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	State          string     `json:"state"`
	Action         string     `json:"action"`
	URL            string     `json:"url"`
	SourceBranch   string     `json:"source_branch"`
	TargetBranch   string     `json:"target_branch"`
	MergeStatus    string     `json:"merge_status"`
	Note           string     `json:"note"`
	NoteableType   string     `json:"noteable_type"`
	Ref            string     `json:"ref"`
	Status         string     `json:"status"`
	DetailedStatus string     `json:"detailed_status"`
	Duration       flexString `json:"duration"`
	// Source is a string on pipelines but an object (the source project)
	// on merge requests.
	Source json.RawMessage `json:"source"`
}

type glPayload struct {
	ObjectKind        string     `json:"object_kind"`
	User              *glUser    `json:"user"`
	UserName          string     `json:"user_name"`
	UserUsername      string     `json:"user_username"`
	Project           glProject  `json:"project"`
	Ref               string     `json:"ref"`
	Before            string     `json:"before"`
	After             string     `json:"after"`
	CheckoutSHA       string     `json:"checkout_sha"`
	TotalCommitsCount flexString `json:"total_commits_count"`
	Commits           []glCommit `json:"commits"`
	Attrs             glAttrs    `json:"object_attributes"`
	Labels            []glLabel  `json:"labels"`
	Assignees         []glUser   `json:"assignees"`
	Issue             *glItem    `json:"issue"`
	MergeRequest      *glItem    `json:"merge_request"`
	Snippet           *glItem    `json:"snippet"`
	Commit            *glCommit  `json:"commit"`
	Builds            []struct {
		Stage  string `json:"stage"`
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"builds"`
}

// glVerbs turn GitLab's object_attributes.action into past tense.
var glVerbs = map[string]string{
	"open": "opened", "close": "closed", "reopen": "reopened", "update": "updated",
	"merge": "merged", "approved": "approved", "approval": "approved",
	"unapproved": "unapproved", "unapproval": "unapproved",
}

func (gitlab) Decode(p Payload) (Notice, error) {
	var pl glPayload
	if err := json.Unmarshal(p.Body, &pl); err != nil {
		return Notice{}, fmt.Errorf("extension: gitlab payload: %w", err)
	}
	n := Notice{
		Event:    pl.ObjectKind,
		Actor:    pl.User.display(),
		Where:    pl.Project.display(),
		WhereURL: pl.Project.WebURL,
	}
	switch pl.ObjectKind {
	case "issue", "merge_request":
		glItemNotice(&n, pl)
	case "note":
		glNoteNotice(&n, pl)
	case "push", "tag_push":
		glPushNotice(&n, pl)
	case "pipeline":
		glPipelineNotice(&n, pl)
	default:
		return Notice{}, errUnsupported
	}
	return n, nil
}

func glItemNotice(n *Notice, pl glPayload) {
	a := pl.Attrs
	verb := glVerbs[a.Action]
	if verb == "" {
		verb = firstNonEmpty(humanize(a.Action), "updated")
	}
	kind, number := "issue", "#"+string(a.IID)
	if pl.ObjectKind == "merge_request" {
		kind, number = "merge request", "!"+string(a.IID)
		n.Fields = append(n.Fields, field("Branches", joinNonEmpty(" → ", a.SourceBranch, a.TargetBranch)))
	}
	n.Title = a.Title
	n.Action, n.Object, n.URL, n.Track = verb+" "+kind, number, a.URL, a.URL
	labels := make([]string, 0, len(pl.Labels))
	for _, l := range pl.Labels {
		labels = append(labels, l.Title)
	}
	assignees := make([]string, 0, len(pl.Assignees))
	for _, u := range pl.Assignees {
		assignees = append(assignees, u.display())
	}
	n.Fields = append(n.Fields,
		field("State", a.State),
		field("Labels", strings.Join(labels, ", ")),
		field("Assignees", strings.Join(assignees, ", ")))
	n.Excerpt, n.ExcerptTitle = a.Description, "Description"
}

func glNoteNotice(n *Notice, pl glPayload) {
	a := pl.Attrs
	n.URL, n.Track = a.URL, a.URL // tasks.TrackRef drops the #note anchor: the item is tracked
	n.Excerpt, n.ExcerptTitle = firstNonEmpty(a.Note, a.Description), "Comment"
	switch {
	case a.NoteableType == "Issue" && pl.Issue != nil:
		n.Action, n.Object, n.Title = "commented on issue", "#"+string(pl.Issue.IID), pl.Issue.Title
	case a.NoteableType == "MergeRequest" && pl.MergeRequest != nil:
		n.Action, n.Object, n.Title = "commented on merge request", "!"+string(pl.MergeRequest.IID), pl.MergeRequest.Title
	case a.NoteableType == "Commit" && pl.Commit != nil:
		n.Action, n.Object, n.Title = "commented on commit", shortSHA(pl.Commit.ID), pl.Commit.title()
	case a.NoteableType == "Snippet" && pl.Snippet != nil:
		n.Action, n.Object, n.Title = "commented on snippet", "$"+string(pl.Snippet.ID), pl.Snippet.Title
	default:
		n.Action, n.Object = "commented on", firstNonEmpty(humanize(a.NoteableType), "an item")
	}
	if n.Title == "" {
		n.Title = "Comment on " + n.Object
	}
}

func glPushNotice(n *Notice, pl glPayload) {
	n.Actor = firstNonEmpty(pl.UserName, pl.UserUsername, n.Actor)
	kind, name := "branch", strings.TrimPrefix(pl.Ref, "refs/heads/")
	if strings.HasPrefix(pl.Ref, "refs/tags/") {
		kind, name = "tag", strings.TrimPrefix(pl.Ref, "refs/tags/")
	}
	treeURL := ""
	if pl.Project.WebURL != "" && name != "" {
		treeURL = strings.TrimSuffix(pl.Project.WebURL, "/") + "/-/tree/" + name
	}
	total, err := strconv.Atoi(string(pl.TotalCommitsCount))
	if err != nil || total < len(pl.Commits) {
		total = len(pl.Commits)
	}
	switch {
	case isZeroSHA(pl.After):
		n.Action, n.Object, n.Title = "deleted "+kind, name, fmt.Sprintf("%s %s deleted", capitalize(kind), name)
	case kind == "tag":
		n.Action, n.Object, n.URL, n.Title = "pushed tag", name, treeURL, "Tag "+name+" pushed"
	default:
		n.Action, n.Object, n.URL = "pushed "+plural(total, "commit")+" to", name, treeURL
		n.Title = fmt.Sprintf("%s pushed to %s", plural(total, "commit"), name)
	}
	head := firstNonEmpty(pl.CheckoutSHA, pl.After)
	for _, c := range pl.Commits {
		n.List = append(n.List, fmt.Sprintf("%s %s (%s)", shortSHA(c.ID), c.title(), c.Author.Name))
		if c.ID == head || n.Track == "" {
			n.Track = c.URL
		}
	}
	n.ListTitle, n.ListTotal = "Commits", total
	if n.Track == "" {
		n.Track = firstNonEmpty(n.URL, pl.Project.WebURL)
	}
}

func glPipelineNotice(n *Notice, pl glPayload) {
	a := pl.Attrs
	status := firstNonEmpty(a.DetailedStatus, a.Status)
	pipelineURL := ""
	if pl.Project.WebURL != "" && a.ID != "" {
		pipelineURL = strings.TrimSuffix(pl.Project.WebURL, "/") + "/-/pipelines/" + string(a.ID)
	}
	n.Title = joinNonEmpty(" ", "Pipeline #"+string(a.ID), status, onRef(a.Ref))
	n.Action, n.Object, n.URL, n.Track = "ran pipeline", "#"+string(a.ID), pipelineURL, pipelineURL
	commit := ""
	if pl.Commit != nil {
		commit = joinNonEmpty(" ", shortSHA(pl.Commit.ID), pl.Commit.title())
	}
	mr := ""
	if pl.MergeRequest != nil {
		mr = joinNonEmpty(" ", "!"+string(pl.MergeRequest.IID), pl.MergeRequest.Title)
	}
	n.Fields = append(n.Fields,
		field("Status", status),
		field("Ref", a.Ref),
		field("Commit", commit),
		field("Merge request", mr),
		field("Duration", seconds(string(a.Duration))),
		field("Triggered by", humanize(scalarText(a.Source))))
	for _, b := range pl.Builds {
		n.List = append(n.List, fmt.Sprintf("%s: %s (%s)", b.Stage, b.Name, b.Status))
	}
	n.ListTitle = "Jobs"
}

// isZeroSHA reports the all-zero id GitLab and GitHub give a deleted ref.
func isZeroSHA(sha string) bool {
	return sha != "" && strings.Trim(sha, "0") == ""
}

func onRef(ref string) string {
	if ref == "" {
		return ""
	}
	return "on " + ref
}

// seconds formats a duration given in seconds, such as "63", as "1m 3s".
func seconds(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return ""
	}
	d := int64(f)
	if d < 60 {
		return fmt.Sprintf("%ds", d)
	}
	if d < 3600 {
		return fmt.Sprintf("%dm %ds", d/60, d%60)
	}
	return fmt.Sprintf("%dh %dm", d/3600, d%3600/60)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

func firstNonEmpty(items ...string) string {
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
