// Package extension connects Tasker to the systems around it: the Cliq
// extension's incoming webhook and installation handlers, the direct GitLab
// and GitHub hooks, the incoming webhook of automation tools (Make.com,
// Zapier) and the action envelope of SPEC 4.4.
//
// Third-party payloads become Cliq cards through sources (source.go): each
// source is one file that detects, decodes and describes its events; what
// no source understands becomes a generic card. Every card about an item
// carries a "Track as task" button whose key is "track:" + REF; Track turns
// that REF into one task (ref.go).
//
// The package imports tasks and cliq and nothing else of ours. Routes are
// listed in routes.go.
package extension
