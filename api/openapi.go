package api

import (
	"encoding/json"
	"net/http"
	"sync"
)

// handleOpenAPI serves GET /api/v1/openapi.json, without a key: the
// OpenAPI 3.1 document of every /api/v1 route (openapiDocument).
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := openapiJSON()
		if err != nil { // a bug of the document's code, caught by its tests
			WriteError(w, http.StatusInternalServerError, codeInternal, "internal error", nil)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}

var openapiJSON = sync.OnceValues(func() ([]byte, error) {
	return json.MarshalIndent(openapiDocument(), "", "  ")
})

// obj is a JSON object of the document.
type obj = map[string]any

// Schema helpers. Nullable values use 3.1's type arrays, never 3.0's
// nullable keyword.
func oaStr(desc string) obj     { return oaWithDesc(obj{"type": "string"}, desc) }
func oaInteger(desc string) obj { return oaWithDesc(obj{"type": "integer"}, desc) }
func oaBoolean(desc string) obj { return oaWithDesc(obj{"type": "boolean"}, desc) }
func oaDateTime(desc string) obj {
	return oaWithDesc(obj{"type": "string", "format": "date-time"}, desc)
}
func oaArrayOf(items obj) obj          { return obj{"type": "array", "items": items} }
func oaRef(name string) obj            { return obj{"$ref": "#/components/schemas/" + name} }
func oaEnum(desc string, v ...any) obj { return oaWithDesc(obj{"type": "string", "enum": v}, desc) }

func oaWithDesc(s obj, desc string) obj {
	if desc != "" {
		s["description"] = desc
	}
	return s
}

// null lets s also be null.
func oaNull(s obj) obj {
	if t, ok := s["type"].(string); ok {
		out := obj{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []string{t, "null"}
		if e, ok := s["enum"].([]any); ok {
			out["enum"] = append(append([]any{}, e...), nil)
		}
		return out
	}
	return obj{"anyOf": []any{s, obj{"type": "null"}}}
}

// object is an object schema with required properties; closed objects
// (request bodies: the server refuses unknown fields) allow no others.
func oaObject(required []string, closed bool, props obj) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	if closed {
		o["additionalProperties"] = false
	}
	return o
}

// list is the answer of a list route: {"<plural>":[…],"next_cursor":…}.
func oaList(plural, item string) obj {
	return oaObject([]string{plural, "next_cursor"}, false, obj{
		plural:        oaArrayOf(oaRef(item)),
		"next_cursor": oaNull(oaStr("Pass as cursor for the next page; null on the last page.")),
	})
}

// oaAny is any JSON value.
var oaAny = obj{"type": []string{"string", "number", "boolean", "array", "object", "null"}}

var oaEventTypes = []any{
	"task.created", "task.updated", "task.status_changed", "task.completed", "task.assigned",
	"task.deleted", "task.reminder", "task.overdue", "comment.created", "user.linked",
}

// Parameter helpers.
func oaPathParam(name, desc string) obj {
	return obj{"name": name, "in": "path", "required": true, "description": desc, "schema": oaStr("")}
}

func oaQueryParam(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "query", "description": desc, "schema": schema}
}

func oaHeader(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "header", "description": desc, "schema": schema}
}

var (
	oaTaskID    = oaPathParam("id", "The task's id (tsk_…) or its number.")
	oaUserID    = oaPathParam("id", "The user's id (usr_…) or email.")
	oaWebhookID = oaPathParam("id", "The subscription's id (wh_…).")
	oaLimit     = oaQueryParam("limit", "Page size.", obj{"type": "integer", "minimum": 1, "maximum": 200, "default": 50})
	oaCursor    = oaQueryParam("cursor", "The next_cursor of the previous page.", oaStr(""))
)

// body is a required JSON request body.
func oaBody(schema obj) obj {
	return obj{"required": true, "content": obj{"application/json": obj{"schema": schema}}}
}

// answer is a JSON response.
func oaAnswer(desc string, schema obj) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
}

// op builds an operation: its answers are ok (status → response) plus the
// error answers every keyed route may give, plus extra errors by status.
func oaOp(id, summary string, params []obj, reqBody obj, ok obj, errs ...string) obj {
	responses := obj{}
	for status, resp := range ok {
		responses[status] = resp
	}
	for _, s := range append([]string{"400", "401", "500", "503", "default"}, errs...) {
		responses[s] = obj{"$ref": "#/components/responses/Error"}
	}
	o := obj{"operationId": id, "summary": summary, "responses": responses}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if reqBody != nil {
		o["requestBody"] = reqBody
	}
	return o
}

func oaParams(p ...obj) []obj { return p }

// openapiDocument is the OpenAPI 3.1 document of the /api/v1 routes, SPEC
// section 5. Response objects are open (a client must ignore fields it
// does not know); request bodies are closed, as the server refuses
// unknown fields. It already describes the recurring tasks of SPEC 6.5
// (skip, recurrence, series_id) and the status filter of deliveries.
func openapiDocument() obj {
	taskAnswer := func(desc string) obj {
		a := oaAnswer(desc, oaRef("Task"))
		a["headers"] = obj{"ETag": obj{"description": `The task's version, "3".`, "schema": oaStr("")}}
		return a
	}
	action := func(id, summary string, reqBody obj) obj {
		return obj{"post": oaOp(id, summary, oaParams(oaTaskID), reqBody, obj{"200": taskAnswer("The task after the action.")}, "404", "409")}
	}
	webhookAnswer := oaAnswer("The subscription, with its secret.", oaRef("Webhook"))
	ifMatch := oaHeader("If-Match", `Apply only at this version: 3, "3", W/"3" or *; 409 otherwise.`, oaStr(""))

	paths := obj{
		"/api/v1/tasks": obj{
			"get": oaOp("listTasks", "List tasks, newest first", oaParams(
				oaQueryParam("status", "Only tasks in this status.", oaRef("Status")),
				oaQueryParam("assignee", "User id or email; none for unassigned tasks.", oaStr("")),
				oaQueryParam("tag", "Only tasks with this tag.", oaStr("")),
				oaQueryParam("due_before", "Only tasks due before this time.", oaDateTime("")),
				oaQueryParam("due_after", "Only tasks due after this time.", oaDateTime("")),
				oaQueryParam("q", "Words of the title or description.", oaStr("")),
				oaLimit, oaCursor,
			), nil, obj{"200": oaAnswer("A page of tasks.", oaList("tasks", "Task"))}),
			"post": oaOp("createTask", "Create a task", oaParams(
				oaHeader("Idempotency-Key", "Repeating the same body with the same key within 24 h answers as the first call did; another body is 409.", oaStr("")),
			), oaBody(oaRef("NewTask")), obj{"201": taskAnswer("The task created."), "200": taskAnswer("An idempotent replay.")}, "409"),
		},
		"/api/v1/tasks/{id}": obj{
			"get":    oaOp("getTask", "Get a task", oaParams(oaTaskID), nil, obj{"200": taskAnswer("The task.")}, "404"),
			"patch":  oaOp("updateTask", "Update a task partially; null clears a field", oaParams(oaTaskID, ifMatch), oaBody(oaRef("TaskPatch")), obj{"200": taskAnswer("The task after the update.")}, "404", "409"),
			"put":    oaOp("replaceTask", "Synonym of PATCH", oaParams(oaTaskID, ifMatch), oaBody(oaRef("TaskPatch")), obj{"200": taskAnswer("The task after the update.")}, "404", "409"),
			"delete": oaOp("deleteTask", "Delete a task", oaParams(oaTaskID, ifMatch), nil, obj{"204": obj{"description": "Deleted."}}, "404", "409"),
		},
		"/api/v1/tasks/{id}/complete": action("completeTask", "Complete a task; a recurring one gets its next occurrence", nil),
		"/api/v1/tasks/{id}/reopen":   action("reopenTask", "Reopen a task", nil),
		"/api/v1/tasks/{id}/snooze": action("snoozeTask", "Snooze a task's reminders", oaBody(oaObject(nil, true, obj{
			"until": oaDateTime("Snooze until this time."),
			"for":   oaStr("Or for this long: a Go duration such as 1h or 30m."),
		}))),
		"/api/v1/tasks/{id}/skip": action("skipTask", "Move a recurring task's due_at to its next occurrence (SPEC 6.5)", nil),
		"/api/v1/tasks/{id}/comments": obj{
			"get": oaOp("listComments", "List a task's comments", oaParams(oaTaskID, oaLimit, oaCursor), nil,
				obj{"200": oaAnswer("A page of comments.", oaList("comments", "Comment"))}, "404"),
			"post": oaOp("addComment", "Comment on a task", oaParams(oaTaskID), oaBody(oaObject([]string{"text"}, true, obj{"text": oaStr("")})),
				obj{"201": oaAnswer("The comment.", oaRef("Comment"))}, "404"),
		},
		"/api/v1/users": obj{
			"get": oaOp("listUsers", "List users", oaParams(oaLimit, oaCursor), nil, obj{"200": oaAnswer("A page of users.", oaList("users", "User"))}),
			"post": oaOp("createUser", "Create a user", nil, oaBody(oaObject(nil, true, obj{
				"name": oaStr(""), "email": oaStr(""), "timezone": oaStr("IANA name; default TASKER_TIMEZONE."), "cliq_user_id": oaNull(oaStr("")),
			})), obj{"201": oaAnswer("The user.", oaRef("User"))}, "409"),
		},
		"/api/v1/users/{id}": obj{
			"get": oaOp("getUser", "Get a user", oaParams(oaUserID), nil, obj{"200": oaAnswer("The user.", oaRef("User"))}, "404"),
		},
		"/api/v1/users/{id}/cliq": obj{
			"put": oaOp("linkCliq", "Link a user to a Cliq user id", oaParams(oaUserID),
				oaBody(oaObject([]string{"cliq_user_id"}, true, obj{"cliq_user_id": oaStr("")})),
				obj{"200": oaAnswer("The user.", oaRef("User"))}, "404", "409"),
		},
		"/api/v1/webhooks": obj{
			"get": oaOp("listWebhooks", "List subscriptions", oaParams(oaLimit, oaCursor), nil,
				obj{"200": oaAnswer("A page of subscriptions.", oaList("webhooks", "Webhook"))}),
			"post": oaOp("createWebhook", "Subscribe an endpoint", nil, oaBody(oaRef("NewWebhook")), obj{"201": webhookAnswer}, "409"),
		},
		"/api/v1/webhooks/{id}": obj{
			"get":   oaOp("getWebhook", "Get a subscription", oaParams(oaWebhookID), nil, obj{"200": webhookAnswer}, "404"),
			"patch": oaOp("updateWebhook", "Change a subscription; enabling clears disabled_reason", oaParams(oaWebhookID), oaBody(oaRef("WebhookPatch")), obj{"200": webhookAnswer}, "404"),
			"delete": oaOp("deleteWebhook", "Delete a subscription", oaParams(oaWebhookID), nil,
				obj{"204": obj{"description": "Deleted."}}, "404"),
		},
		"/api/v1/webhooks/{id}/rotate-secret": obj{
			"post": oaOp("rotateWebhookSecret", "New secret; the old one keeps signing for 24 h", oaParams(oaWebhookID), nil, obj{"200": webhookAnswer}, "404"),
		},
		"/api/v1/webhooks/{id}/test": obj{
			"post": oaOp("testWebhook", "Send a realistic sample event marked test", oaParams(oaWebhookID),
				oaBody(oaObject([]string{"event_type"}, true, obj{"event_type": oaEnum("", oaEventTypes...)})),
				obj{"202": oaAnswer("The queued test message.", oaRef("Delivery"))}, "404"),
		},
		"/api/v1/webhooks/{id}/deliveries": obj{
			"get": oaOp("listDeliveries", "The delivery log: one entry per message, each with every attempt", oaParams(oaWebhookID,
				oaQueryParam("status", "Only messages in this state.", oaEnum("", "pending", "delivered", "failed")),
				oaLimit, oaCursor), nil, obj{"200": oaAnswer("A page of messages.", oaList("deliveries", "Delivery"))}, "404"),
		},
		"/api/v1/webhooks/{id}/deliveries/{message_id}/redeliver": obj{
			"post": oaOp("redeliver", "A new attempt of a message", oaParams(oaWebhookID, oaPathParam("message_id", "The message's id (msg_…).")), nil,
				obj{"200": oaAnswer("The message with its new pending attempt.", oaRef("Delivery"))}, "404", "409"),
		},
		"/api/v1/webhooks/{id}/recover": obj{
			"post": oaOp("recoverWebhook", "Send again every failed message since a time", oaParams(oaWebhookID),
				oaBody(oaObject([]string{"since"}, true, obj{"since": oaDateTime("")})),
				obj{"200": oaAnswer("How many messages were queued.", oaObject([]string{"queued"}, false, obj{"queued": oaInteger("")}))}, "404"),
		},
		"/api/v1/events": obj{
			"get": oaOp("listEvents", "The event log of the last 30 days, newest first", oaParams(
				oaQueryParam("since", "Only events since this time.", oaDateTime("")),
				oaQueryParam("type", "Only events of this type.", oaEnum("", oaEventTypes...)),
				oaLimit, oaCursor), nil, obj{"200": oaAnswer("A page of events.", oaList("events", "Event"))}),
		},
		"/api/v1/events/stream": obj{
			"get": oaOp("streamEvents", "The event log live, as Server-Sent Events", oaParams(
				oaHeader("Last-Event-ID", "Resume after this event id (evt_…).", oaStr("")),
				oaQueryParam("since", "Start at this time of the log (without Last-Event-ID); default: only new events.", oaDateTime("")),
				oaQueryParam("type", "Only these types, a comma list.", oaStr("")),
			), nil, obj{"200": obj{
				"description": "A text/event-stream: for every event `id:` its id, `event:` its type and `data:` the Event envelope as JSON; comment lines keep the connection alive.",
				"content":     obj{"text/event-stream": obj{"schema": oaStr("")}},
			}}, "429"),
		},
		"/api/v1/notifications": obj{
			"get": oaOp("listNotifications", "The Cliq outbox log, newest first", oaParams(oaLimit, oaCursor), nil,
				obj{"200": oaAnswer("A page of notifications.", oaList("notifications", "Notification"))}),
		},
		"/api/v1/openapi.json": obj{
			"get": obj{"operationId": "openapi", "summary": "This document", "security": []any{},
				"responses": obj{"200": oaAnswer("The OpenAPI document.", obj{"type": "object"})}},
		},
	}

	nullableTime := oaNull(oaDateTime(""))
	recurrenceOut := oaNull(oaObject([]string{"rule", "timezone", "text"}, false, obj{
		"rule":     oaStr("RFC 5545 RRULE, such as FREQ=WEEKLY;BYDAY=MO,WE,FR."),
		"timezone": oaStr("IANA timezone the rule's times are in."),
		"text":     oaStr("The rule in words, as cards show it."),
	}))
	recurrenceIn := oaNull(oaStr("A rule such as \"every weekday at 9:30\" or an RRULE (SPEC 6.5); null ends the series."))
	taskFields := func(patch bool) obj {
		p := obj{
			"title": oaStr("1–300 characters."), "description": oaStr("At most 10,000 characters."),
			"status": oaRef("Status"), "priority": oaRef("Priority"),
			"type": oaStr(""), "category": oaStr(""),
			"tags":                oaArrayOf(oaStr("")),
			"assignee":            oaNull(oaStr("User id or email.")),
			"due_at":              nullableTime,
			"remind_before":       oaNull(oaInteger("Minutes before due_at; default TASKER_REMINDER_LEAD.")),
			"external_id":         oaNull(oaStr("")),
			"source_url":          oaNull(oaStr("")),
			"recurrence":          recurrenceIn,
			"recurrence_timezone": oaStr("Timezone of the recurrence rule; default TASKER_TIMEZONE."),
		}
		if patch {
			p["snoozed_until"] = nullableTime
		}
		return p
	}

	schemas := obj{
		"Error": oaObject([]string{"error"}, false, obj{"error": oaObject([]string{"code", "message"}, false, obj{
			"code": oaEnum("", "invalid_argument", "unauthenticated", "forbidden", "not_found", "conflict",
				"payload_too_large", "unsupported_media_type", "rate_limited", "internal", "unavailable", "method_not_allowed"),
			"message":    oaStr(""),
			"fields":     obj{"type": "object", "additionalProperties": oaStr(""), "description": "Problems by field or parameter name."},
			"request_id": oaStr("The request's X-Request-Id, to quote when asking about it."),
		})}),
		"Status":   oaEnum("", "open", "in_progress", "completed", "cancelled"),
		"Priority": oaEnum("", "low", "medium", "high", "urgent"),
		"Task": oaObject([]string{"id", "number", "workspace", "title", "status", "priority", "created_by", "created_at", "updated_at", "version"}, false, obj{
			"id": oaStr("tsk_…"), "number": oaInteger("Sequential per workspace."), "workspace": oaStr(""),
			"title": oaStr(""), "description": oaStr(""), "status": oaRef("Status"), "priority": oaRef("Priority"),
			"type": oaStr(""), "category": oaStr(""), "tags": oaArrayOf(oaStr("Empty when the task has none.")),
			"assignee": oaNull(oaStr("")), "created_by": oaStr(""), "completed_by": oaNull(oaStr("")),
			"due_at": nullableTime, "snoozed_until": nullableTime, "remind_before": oaNull(oaInteger("")),
			"external_id": oaNull(oaStr("")), "source_url": oaNull(oaStr("")),
			"recurrence": recurrenceOut, "series_id": oaNull(oaStr("The id of the series' first task.")),
			"created_at": oaDateTime(""), "updated_at": oaDateTime(""), "completed_at": nullableTime,
			"version": oaInteger(""),
		}),
		"NewTask":   oaObject([]string{"title"}, true, taskFields(false)),
		"TaskPatch": oaObject(nil, true, taskFields(true)),
		"Comment": oaObject([]string{"id", "task_id", "text", "created_at"}, false, obj{
			"id": oaStr(""), "task_id": oaStr(""), "task_number": oaInteger(""), "text": oaStr(""), "author": oaStr(""), "created_at": oaDateTime(""),
		}),
		"User": oaObject([]string{"id", "email", "created_at"}, false, obj{
			"id": oaStr("usr_…"), "workspace": oaStr(""), "name": oaStr(""), "email": oaStr(""), "timezone": oaStr(""),
			"cliq_user_id": oaNull(oaStr("")), "created_at": oaDateTime(""), "updated_at": oaDateTime(""),
		}),
		"Event": oaObject([]string{"id", "type", "timestamp", "workspace", "data"}, false, obj{
			"id": oaStr("evt_…"), "type": oaEnum("", oaEventTypes...), "timestamp": oaDateTime(""), "workspace": oaStr(""),
			"data": oaObject(nil, false, obj{
				"task": oaRef("Task"), "comment": oaRef("Comment"), "user": oaRef("User"),
				"changes": obj{"type": "object", "additionalProperties": oaObject(nil, false, obj{"from": oaAny, "to": oaAny})},
				"actor": oaObject(nil, true, obj{
					"user_id": oaStr("The Tasker user who made the change."), "cliq_user_id": oaStr("Their Cliq user id."),
					"via": oaEnum("How a change no person made came in.", "api", "incoming_webhook"),
				}),
			}),
			"test": oaBoolean("Set on webhook test events, which are never in the log."),
		}),
		"Webhook": oaObject([]string{"id", "url", "events", "secret", "enabled", "status", "created_at"}, false, obj{
			"id": oaStr("wh_…"), "url": oaStr(""), "events": oaArrayOf(oaStr("")), "secret": oaStr(""),
			"enabled": oaBoolean(""), "description": oaStr(""), "ordering": oaEnum("", "none", "task"),
			"status": oaEnum("", "active", "disabled"), "disabled_reason": oaNull(oaStr("")),
			"created_at": oaDateTime(""), "updated_at": oaDateTime(""), "last_triggered": nullableTime,
			"delivery_success_rate": oaNull(obj{"type": "number", "minimum": 0, "maximum": 1}),
			"created_by":            oaNull(oaStr("")), "consecutive_failures": oaInteger(""),
		}),
		"NewWebhook": oaObject([]string{"url", "events"}, true, obj{
			"url":    oaStr("https URL (http and private hosts only with TASKER_WEBHOOK_ALLOW_PRIVATE)."),
			"events": oaArrayOf(oaStr("An event type, or * for all.")), "secret": oaStr("Default: whsec_ and 24 random bytes."),
			"enabled": oaBoolean(""), "description": oaStr(""), "ordering": oaEnum("", "none", "task"),
			"created_by": oaStr("The Tasker user told in Cliq when the endpoint is disabled."),
		}),
		"WebhookPatch": oaObject(nil, true, obj{
			"url": oaStr(""), "events": oaArrayOf(oaStr("")), "enabled": oaBoolean(""), "description": oaStr(""), "ordering": oaEnum("", "none", "task"),
		}),
		"Delivery": oaObject([]string{"id", "event_id", "event_type", "status", "attempts"}, false, obj{
			"id": oaStr("msg_…"), "event_id": oaStr(""), "event_type": oaStr(""),
			"status": oaEnum("", "pending", "delivered", "failed"), "test": oaBoolean(""), "created_at": oaDateTime(""),
			"attempts": oaArrayOf(oaObject([]string{"id", "at"}, false, obj{
				"id": oaStr("del_…"), "at": oaDateTime(""),
				"status_code": oaNull(oaInteger("Null when no response arrived.")),
				"duration_ms": oaNull(oaInteger("")), "error": oaNull(oaStr("")),
				"response": oaNull(oaStr("The first KiB of the response.")), "pending": oaBoolean(""),
			})),
		}),
		"Notification": oaObject([]string{"id", "destination", "status", "attempts"}, false, obj{
			"id": oaStr(""), "event_id": oaNull(oaStr("")),
			"destination": oaObject([]string{"kind", "name"}, false, obj{"kind": oaEnum("", "channel", "user", "chat"), "name": oaStr("")}),
			"message":     obj{"type": "object", "description": "The Cliq message."},
			"status":      oaEnum("", "pending", "sent", "failed", "dry_run"),
			"attempts":    oaInteger("Calls to the Cliq API made for it."), "error": oaNull(oaStr("")),
			"created_at": oaDateTime(""), "updated_at": oaDateTime(""),
		}),
	}

	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "Tasker API",
			"version":     "1",
			"description": "Tasks, users, webhooks and the event log of a Tasker workspace. Every route but this document needs an API key (Authorization: Bearer <key> or X-Api-Key); the key's workspace is the one read and written. Errors have one shape everywhere. Request bodies are JSON: application/json, application/*+json or no Content-Type at all.",
		},
		"security": []any{obj{"bearer": []any{}}, obj{"apiKey": []any{}}},
		"paths":    paths,
		"components": obj{
			"schemas": schemas,
			"responses": obj{"Error": oaAnswer("An error: invalid_argument 400, unauthenticated 401, forbidden 403, not_found 404, conflict 409, payload_too_large 413, unsupported_media_type 415, rate_limited 429, internal 500, unavailable 503.",
				oaRef("Error"))},
			"securitySchemes": obj{
				"bearer": obj{"type": "http", "scheme": "bearer"},
				"apiKey": obj{"type": "apiKey", "in": "header", "name": "X-Api-Key"},
			},
		},
	}
}
