package bot

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/taskerhq/tasker/cliq"
	"github.com/taskerhq/tasker/tasks"
)

// handleMessageAction serves POST /cliq/messageactions/:name; addtask is the
// message action Add as task (deluge/scripts: messageactions/addtask). Other
// names are 404.
func handleMessageAction(logger *slog.Logger, store *tasks.Store, opts Options, zones *zoneCache) http.Handler {
	return routeByParam("name", "message action", map[string]http.Handler{
		"addtask": serveCall(logger, store, opts, zones, func(ctx context.Context, c *call) (any, error) {
			return c.createTaskForm(ctx, c.messagePrefill()), nil
		}),
	})
}

// messagePrefill fills the create_task form from the messages the action
// ran on: the title is the first line of the first message, the description
// every message with its sender, then where it was said.
func (c *call) messagePrefill() taskPrefill {
	var msgs []cliq.ReceivedMessage
	if c.req.Messages != nil {
		msgs = c.req.Messages.List
	}
	if len(msgs) == 0 && c.req.Message != nil {
		msgs = []cliq.ReceivedMessage{*c.req.Message}
	}
	var p taskPrefill
	var desc []string
	for _, m := range msgs {
		text := strings.TrimSpace(m.Text)
		if p.Title == "" && text != "" {
			// The form cuts it to its own limit, below SPEC 7.3's 300.
			first, _, _ := strings.Cut(text, "\n")
			p.Title = strings.Join(strings.Fields(first), " ")
		}
		if text == "" {
			continue
		}
		desc = append(desc, text+"\n— "+c.messageByline(m))
	}
	if c.req.Chat != nil && c.req.Chat.Title != "" {
		desc = append(desc, "From the chat "+c.req.Chat.Title+".")
	}
	p.Description = strings.Join(desc, "\n\n")
	return p
}

// messageByline names a message's sender and, when Cliq gave it, its time in
// the caller's zone.
func (c *call) messageByline(m cliq.ReceivedMessage) string {
	who := "someone"
	if m.Sender != nil {
		if n := m.Sender.Name(); n != "" {
			who = n
		}
	}
	if m.Time <= 0 {
		return who
	}
	at := time.UnixMilli(int64(m.Time)).In(c.loc)
	return fmt.Sprintf("%s, %s", who, at.Format("2 Jan 2006 15:04 MST"))
}
