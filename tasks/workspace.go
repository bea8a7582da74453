// Package tasks is the centre of Tasker: tasks, users, comments and the
// events their changes produce, with the Redis store that keeps them. It knows
// nothing of chat, HTTP or cron.
package tasks

import (
	"errors"
	"fmt"
	"regexp"
)

// WorkspaceID names a workspace: one team's tasks, users, subscriptions and
// events. Nothing is ever visible across workspaces. In single tenancy it is
// "default"; in org tenancy a Cliq organisation id.
type WorkspaceID string

// DefaultWorkspace is where every Cliq call and every unbound key works in
// single tenancy.
const DefaultWorkspace WorkspaceID = "default"

// Workspace names are used inside Redis hash tags, so braces are excluded.
var workspaceRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// Valid reports whether ws may name a workspace.
func (ws WorkspaceID) Valid() error {
	if !workspaceRe.MatchString(string(ws)) {
		return fmt.Errorf("tasks: invalid workspace name %q", string(ws))
	}
	return nil
}

// Actor is who made a change, as recorded in events. Via names the way in
// when no person is known (an API key, an incoming webhook), so a receiver
// never sees an empty actor.
type Actor struct {
	UserID     string `json:"user_id,omitempty"`
	CliqUserID string `json:"cliq_user_id,omitempty"`
	Via        string `json:"via,omitempty"`
}

// Ways in of changes that no person made (Actor.Via).
const (
	ViaAPI             = "api"              // a REST API key, or the action envelope without a Cliq user
	ViaIncomingWebhook = "incoming_webhook" // /api/incoming-webhook (an automation tool)
)

// Tenancy decides which workspace a Cliq call works in.
type Tenancy string

// The tenancy modes of TASKER_TENANCY.
const (
	// SingleTenancy: one team; every Cliq call works in DefaultWorkspace.
	SingleTenancy Tenancy = "single"
	// OrgTenancy: each Cliq organisation is its own workspace, named by its id.
	OrgTenancy Tenancy = "org"
)

// ErrNoOrganization means a Cliq call in org tenancy did not say which
// organisation it came from.
var ErrNoOrganization = errors.New("tasks: the Cliq call has no user.organization_id")

// Workspace returns the workspace of a Cliq call from organisation orgID.
func (t Tenancy) Workspace(orgID string) (WorkspaceID, error) {
	if t != OrgTenancy {
		return DefaultWorkspace, nil
	}
	if orgID == "" {
		return "", ErrNoOrganization
	}
	ws := WorkspaceID(orgID)
	if err := ws.Valid(); err != nil {
		return "", err
	}
	return ws, nil
}
