package bot

import (
	"github.com/taskerhq/tasker/internal/httpx"

	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) { httpx.WriteJSON(w, status, v) }

// decode reads the forwarded body, which the verifier has already read
// within TASKER_MAX_BODY, and parses Cliq's attributes.
func decode(r *http.Request) (*cliq.Request, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, &requestError{http.StatusBadRequest, "invalid_argument", "cannot read request body"}
	}
	req, err := cliq.DecodeRequest(body)
	if err != nil {
		return nil, &requestError{http.StatusBadRequest, "invalid_argument", strings.TrimPrefix(err.Error(), "cliq: ")}
	}
	return req, nil
}

// requestError is a broken forwarder's request: answered with the SPEC 5
// error shape, which the Deluge script turns into its fallback line.
type requestError struct {
	status  int
	code    string
	message string
}

func (e *requestError) Error() string { return e.message }

func badRequest(message string) error {
	return &requestError{http.StatusBadRequest, "invalid_argument", message}
}

// chatError is a user's mistake the bot explains in chat: a task that does
// not exist, a command used in the wrong place. Its message is a sentence
// for the user, with an example where one helps.
type chatError struct{ msg string }

func (e *chatError) Error() string { return e.msg }

func sayf(msg string) error { return &chatError{msg} }

// respondError answers err and is the only place the bot logs a failed
// request. Users' mistakes are 200 with a Cliq message; only our own
// faults are 5xx, and they show the user none of the detail.
func respondError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var (
		re  *requestError
		ce  *chatError
		se  *SyntaxError
		ve  *tasks.ValidationError
		cfe *tasks.ConflictError
	)
	switch {
	case errors.As(err, &re):
		writeError(w, re.status, re.code, re.message)
	case errors.Is(err, tasks.ErrNoOrganization):
		writeError(w, http.StatusBadRequest, "invalid_argument", "user.organization_id is required in org tenancy")
	case errors.As(err, &ce):
		encode(w, http.StatusOK, cliq.Text(ce.msg))
	case errors.As(err, &se):
		encode(w, http.StatusOK, cliq.Text(se.Error()))
	case errors.As(err, &ve):
		encode(w, http.StatusOK, cliq.Text("I couldn't save that: "+ve.Error()+". See /task help for examples."))
	case errors.As(err, &cfe):
		encode(w, http.StatusOK, cliq.Text("I couldn't do that: "+cfe.Reason+"."))
	case errors.Is(err, tasks.ErrConflict):
		encode(w, http.StatusOK, cliq.Text("Someone changed that at the same moment. Please try again."))
	case errors.Is(err, tasks.ErrNotFound):
		encode(w, http.StatusOK, cliq.Text("I couldn't find that. See your tasks with /task list."))
	default:
		logger.ErrorContext(r.Context(), "cliq request failed", "route", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

// writeError writes the SPEC 5 error shape.
func writeError(w http.ResponseWriter, status int, code, message string) {
	httpx.WriteError(w, status, httpx.Error{Code: code, Message: message})
}

// messageEdit is a button's answer that replaces the message holding the
// button (REFERENCE 7: "message edit"), so a card shows its task's new state.
type messageEdit struct{ cliq.Message }

// MarshalJSON adds "type":"message_edit" to the message's keys.
func (m messageEdit) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type string `json:"type"`
		cliq.Message
	}{"message_edit", m.Message})
}
