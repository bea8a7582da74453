package tasks

import (
	"errors"
	"sort"
	"strings"
)

// Sentinel errors callers branch on with errors.Is.
var (
	// ErrNotFound means the task, user or comment does not exist in the workspace.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the write lost a race or broke a uniqueness rule:
	// an If-Match version that is no longer current, a duplicate email or
	// Cliq link, an idempotency key reused with another body.
	ErrConflict = errors.New("conflict")
)

// ValidationError lists what is wrong with an input, keyed by field name.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		parts = append(parts, k+" "+e.Fields[k])
	}
	return strings.Join(parts, "; ")
}

// invalid returns a *ValidationError for problems, or nil when there are none.
func invalid(problems map[string]string) error {
	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{Fields: problems}
}

// ConflictError says why a write conflicted; it matches ErrConflict.
type ConflictError struct {
	Reason string
}

func (e *ConflictError) Error() string { return e.Reason }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

func conflict(reason string) error { return &ConflictError{Reason: reason} }
