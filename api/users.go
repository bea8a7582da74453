package api

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/julienschmidt/httprouter"
	"github.com/taskerhq/tasker/tasks"
)

// userRef is the {id} of a user route: a user id or an email.
func userRef(r *http.Request) string {
	return httprouter.ParamsFromContext(r.Context()).ByName("id")
}

func notFoundUser(ref string, err error) error {
	return fmt.Errorf("user %q: %w", ref, err)
}

// handleListUsers serves GET /api/v1/users, newest first.
func handleListUsers(logger *slog.Logger, store *tasks.Store) http.Handler {
	type response struct {
		Users      []tasks.User `json:"users"`
		NextCursor *string      `json:"next_cursor"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := parsePageQuery(r.URL.RawQuery)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		list, next, err := store.ListUsers(r.Context(), workspace(r), p.cursor, p.limit)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if list == nil {
			list = []tasks.User{}
		}
		encode(w, http.StatusOK, response{Users: list, NextCursor: cursorOrNil(next)})
	})
}

// handleCreateUser serves POST /api/v1/users with
// {"name","email","timezone","cliq_user_id"?}; a taken email or Cliq user
// id is 409.
func handleCreateUser(logger *slog.Logger, store *tasks.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := decodeRequest[tasks.NewUser](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		u, err := store.CreateUser(r.Context(), workspace(r), apiActor, in)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		encode(w, http.StatusCreated, u)
	})
}

// handleGetUser serves GET /api/v1/users/{id}, where {id} is the user id or email.
func handleGetUser(logger *slog.Logger, store *tasks.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := userRef(r)
		u, err := store.GetUser(r.Context(), workspace(r), ref)
		if err != nil {
			respondError(w, r, logger, notFoundUser(ref, err))
			return
		}
		encode(w, http.StatusOK, u)
	})
}

// handleLinkCliq serves PUT /api/v1/users/{id}/cliq with
// {"cliq_user_id":"…"}: links the user to that Cliq user, replacing an
// earlier link of theirs; a Cliq user linked to someone else is 409.
func handleLinkCliq(logger *slog.Logger, store *tasks.Store) http.Handler {
	type request struct {
		CliqUserID *string `json:"cliq_user_id"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := userRef(r)
		req, err := decodeRequest[request](r)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if req.CliqUserID == nil {
			respondError(w, r, logger, invalidFields(map[string]string{"cliq_user_id": "required"}))
			return
		}
		u, err := store.LinkCliq(r.Context(), workspace(r), apiActor, ref, *req.CliqUserID)
		if err != nil {
			respondError(w, r, logger, notFoundUser(ref, err))
			return
		}
		encode(w, http.StatusOK, u)
	})
}
