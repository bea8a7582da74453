// Package tasks is the centre of Tasker: tasks, users, comments and the
// events their changes produce, with the Redis store that keeps them. It knows
// nothing of chat, HTTP or cron.
package tasks

import (
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

// Actor is who made a change, as recorded in events.
type Actor struct {
	UserID     string `json:"user_id,omitempty"`
	CliqUserID string `json:"cliq_user_id,omitempty"`
}
