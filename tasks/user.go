package tasks

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person known to Tasker, linked to at most one Cliq user and a
// Cliq user to at most one Tasker user.
type User struct {
	ID         string      `json:"id"`
	Workspace  WorkspaceID `json:"workspace"`
	Name       string      `json:"name"`
	Email      string      `json:"email"`
	Timezone   string      `json:"timezone"`
	CliqUserID *string     `json:"cliq_user_id"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// NewUser is what a client supplies to create a user.
type NewUser struct {
	Name       string  `json:"name"`
	Email      string  `json:"email"`
	Timezone   string  `json:"timezone"`
	CliqUserID *string `json:"cliq_user_id"`
}

// Location is the user's timezone, UTC when unknown.
func (u User) Location() *time.Location {
	if loc, err := loadZone(u.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// loadZone loads an IANA timezone; "" and "Local" (the server's zone, which
// means nothing to a user) are refused.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("tasks: no timezone %q", name)
	}
	return time.LoadLocation(name)
}

// Valid reports what is wrong with u, keyed by field name. Email is optional
// because a Cliq user seen through a mention may not show one.
func (u User) Valid() map[string]string {
	p := make(map[string]string)
	switch n := utf8.RuneCountInString(strings.TrimSpace(u.Name)); {
	case n == 0:
		p["name"] = "required"
	case n > 200:
		p["name"] = "at most 200 characters"
	}
	if u.Email != "" {
		if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > 254 {
			p["email"] = "must be an email address"
		}
	}
	if u.Timezone != "" {
		if _, err := loadZone(u.Timezone); err != nil {
			p["timezone"] = "must be an IANA timezone such as Europe/Berlin"
		}
	}
	if u.CliqUserID != nil && !validCliqID(*u.CliqUserID) {
		p["cliq_user_id"] = "must be a Cliq user id"
	}
	return p
}

func validCliqID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// NormalizeEmail lower-cases an email so lookups ignore case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// DisplayName is how chat shows the user.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return fmt.Sprintf("user %s", u.ID)
}
