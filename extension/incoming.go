package extension

import (
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// incomingAnswer is what the Deluge script extension/incoming expects: it
// posts Message to Channel, and posts nothing when Channel is null.
type incomingAnswer struct {
	Channel *string      `json:"channel"`
	Message cliq.Message `json:"message"`
}

// handleExtensionIncoming serves POST /cliq/extension/incoming, called by
// the Deluge script extension/incoming with the third party's request
// (headers, parameters, body or body_base64) behind the Cliq verifier.
// Whatever the third party sent gets a card; only a broken forwarder
// (a body that is not a JSON object, no user object, bad base64) gets 400.
// The card is cut to Cliq's limits, since the script posts it as it is, and
// its buttons name functionOwner.
func handleExtensionIncoming(logger *slog.Logger, tenancy tasks.Tenancy, defaultChannel, functionOwner string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body) // the verifier has read and capped it already
		if err != nil {
			respondError(w, r, logger, badRequest("cannot read request body", nil))
			return
		}
		req, err := cliq.DecodeRequest(raw)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if _, err := tenancy.Workspace(req.User.OrganizationID); err != nil {
			respondError(w, r, logger, err)
			return
		}
		body, err := req.IncomingBody()
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		header := make(http.Header, len(req.Headers))
		for k, v := range req.Headers {
			header.Add(k, v) // Add canonicalises keys: Cliq's casing is undocumented
		}
		msg := Format(Payload{Header: header, Body: body}).Truncate().WithFunctionOwner(functionOwner)
		answer := incomingAnswer{Message: msg}
		if ch := firstNonEmpty(req.Parameters["channel"], defaultChannel); ch != "" {
			answer.Channel = &ch
		}
		encode(w, http.StatusOK, answer)
	})
}

// installAnswer is the installation handler's answer: Cliq activates the
// extension on status 200 and shows title and message to the installer. The
// status is the text "200", as in Zoho's Deluge sample (REFERENCE 7.1).
type installAnswer struct {
	Status  string `json:"status"`
	Title   string `json:"title"`
	Message string `json:"message"`
}

// handleExtensionInstall serves POST /cliq/extension/install, called by
// the script extension/install when an organisation installs the
// extension. It records the installer as a Tasker user linked to their Cliq
// account (the user.linked event of a first contact is the install record)
// and allows the activation.
func handleExtensionInstall(logger *slog.Logger, store *tasks.Store, tenancy tasks.Tenancy, defaultTimezone string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			respondError(w, r, logger, badRequest("cannot read request body", nil))
			return
		}
		req, err := cliq.DecodeRequest(raw)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		if strings.TrimSpace(req.User.ID) == "" {
			respondError(w, r, logger, badRequest("user.id is required", map[string]string{"user.id": "required"}))
			return
		}
		ws, err := tenancy.Workspace(req.User.OrganizationID)
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		u, created, err := store.EnsureCliqUser(r.Context(), ws, tasks.CliqProfile{
			ID: req.User.ID, Name: req.User.Name(), Email: req.User.Email,
			Timezone: firstNonEmpty(req.User.Timezone, defaultTimezone),
		})
		if err != nil {
			respondError(w, r, logger, err)
			return
		}
		logger.InfoContext(r.Context(), "extension installed",
			"workspace", string(ws), "organization_id", req.User.OrganizationID, "user_id", u.ID, "new_user", created)
		encode(w, http.StatusOK, installAnswer{
			Status:  "200",
			Title:   "Tasker is ready",
			Message: "Type /task to add your first task. GitLab, GitHub and other tools can post to a channel through this extension's incoming webhook URL.",
		})
	})
}
