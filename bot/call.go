package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// call is one decoded Cliq call with its caller resolved: the workspace,
// the Tasker user linked to the Cliq user (created on first contact), and
// the clock and timezone the caller's words are read in.
type call struct {
	store *tasks.Store
	opts  Options
	req   *cliq.Request
	ws    tasks.WorkspaceID
	user  tasks.User
	// firstContact is true when this call created the user or its link.
	firstContact bool
	actor        tasks.Actor
	loc          *time.Location
	now          time.Time
}

// newCall resolves the workspace and the caller of req. A call without a
// user id is a broken forwarder (400); in org tenancy so is one without
// user.organization_id (SPEC 12).
func newCall(ctx context.Context, store *tasks.Store, opts Options, zones *zoneCache, req *cliq.Request) (*call, error) {
	ws, err := opts.Tenancy.Workspace(req.User.OrganizationID)
	if err != nil {
		if errors.Is(err, tasks.ErrNoOrganization) {
			return nil, err
		}
		return nil, badRequest("user.organization_id is not a valid workspace name")
	}
	if strings.TrimSpace(req.User.ID) == "" {
		return nil, badRequest("user.id is missing")
	}
	u, created, err := store.EnsureCliqUser(ctx, ws, tasks.CliqProfile{
		ID: req.User.ID, Name: req.User.Name(), Email: req.User.Email, Timezone: req.User.Timezone,
	})
	var ve *tasks.ValidationError
	if errors.As(err, &ve) {
		// Cliq's ids and emails are well formed; these are not Cliq's.
		return nil, badRequest("user: " + ve.Error())
	}
	if err != nil {
		return nil, err
	}
	loc := zones.get(req.User.Timezone)
	if loc == nil {
		loc = zones.get(u.Timezone)
	}
	if loc == nil {
		loc = zones.fallback
	}
	return &call{
		store: store, opts: opts, req: req, ws: ws, user: u, firstContact: created,
		actor: tasks.Actor{UserID: u.ID, CliqUserID: req.User.ID},
		loc:   loc, now: opts.Now(),
	}, nil
}

// zoneCache keeps loaded timezones: time.LoadLocation reads the zone
// database on every call, which a busy bot would do for every message.
type zoneCache struct {
	fallback *time.Location
	zones    sync.Map // name → *time.Location, or nil for an unknown name
}

func newZoneCache(defaultZone string) *zoneCache {
	c := &zoneCache{fallback: time.UTC}
	if loc := c.get(defaultZone); loc != nil {
		c.fallback = loc
	}
	return c
}

// get returns the zone called name, or nil when name is empty or unknown.
func (c *zoneCache) get(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > 64 {
		return nil
	}
	if v, ok := c.zones.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	c.zones.Store(name, loc)
	return loc
}

// mentionNames are the display names ParseCommand matches @words against,
// one per mention Cliq sent, in its order.
func (c *call) mentionNames() []string {
	names := make([]string, len(c.req.Mentions))
	for i, m := range c.req.Mentions {
		names[i] = mentionName(m)
	}
	return names
}

func mentionName(m cliq.Mention) string {
	if n := strings.TrimSpace(m.FirstName + " " + m.LastName); n != "" {
		return n
	}
	return strings.TrimPrefix(m.DName, "@")
}

// mentioned returns the Tasker user an @mention names: the caller for @me,
// else the user linked to the mentioned Cliq user, created and linked on
// first sight.
func (c *call) mentioned(ctx context.Context, m *Mention) (tasks.User, error) {
	if m == nil || m.Index == MentionMe {
		return c.user, nil
	}
	if m.Index < 0 || m.Index >= len(c.req.Mentions) {
		return tasks.User{}, sayf("I couldn't tell who @" + m.Name + " is. Mention people with Cliq's @ so their name turns into a link.")
	}
	men := c.req.Mentions[m.Index]
	if men.Type != "" && men.Type != "user" {
		return tasks.User{}, sayf(fmt.Sprintf("@%s is a %s, not a person; tasks are assigned to people.", m.Name, men.Type))
	}
	if men.ID == c.req.User.ID {
		return c.user, nil
	}
	u, _, err := c.store.EnsureCliqUser(ctx, c.ws, tasks.CliqProfile{ID: men.ID, Name: mentionName(men), Email: men.Email})
	var ve *tasks.ValidationError
	if errors.As(err, &ve) {
		return tasks.User{}, sayf("I couldn't add @" + m.Name + " as a Tasker user: " + ve.Error() + ".")
	}
	return u, err
}

// assigneeOf returns the assignee of t, or nil when it has none or they
// cannot be read (the card then shows the id).
func (c *call) assigneeOf(ctx context.Context, t tasks.Task) *tasks.User {
	if t.Assignee == nil {
		return nil
	}
	if *t.Assignee == c.user.ID {
		return &c.user
	}
	u, err := c.store.GetUser(ctx, c.ws, *t.Assignee)
	if err != nil {
		return nil
	}
	return &u
}

// channel returns the channel's unique name when the call came from a
// channel (or a thread in one), else "".
func (c *call) channel() string {
	if c.req.Chat == nil {
		return ""
	}
	if c.req.Chat.Type != cliq.ChatChannel && c.req.Chat.Type != cliq.ChatThread && c.req.Chat.ChannelUniqueName == "" {
		return ""
	}
	return c.req.Chat.ChannelUniqueName
}

// taskErr turns "no such task" into a chat answer naming the number.
func taskErr(n int64, err error) error {
	if errors.Is(err, tasks.ErrNotFound) {
		return sayf(fmt.Sprintf("There is no task #%d. See your tasks with /task list.", n))
	}
	return err
}
