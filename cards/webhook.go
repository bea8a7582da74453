package cards

import (
	"fmt"
	"time"

	"github.com/taskerhq/tasker/cliq"
)

// The button keys of a disabled webhook endpoint's alert, each followed by
// ":" and the subscription id. The bot's taskaction function answers them.
const (
	KeyWebhookRetry      = "wh_retry"
	KeyWebhookDeliveries = "wh_deliveries"
	KeyWebhookEnable     = "wh_enable"
)

// WebhookDisabled is the DM an endpoint's creator gets when Tasker stops
// sending to it, with the three ways out: re-send what failed, look at the
// recent deliveries, or turn it back on.
func WebhookDisabled(id, url, reason string) cliq.Message {
	if reason == "" {
		reason = "it failed too many times in a row"
	}
	return cliq.Message{
		Text: fmt.Sprintf("Tasker stopped sending events to your webhook endpoint: %s. Events keep being recorded; nothing is lost while it is off.", reason),
		Card: &cliq.Card{Title: clip("Webhook disabled: "+url, cliq.MaxCardTitleLength), Theme: cliq.ThemeModernInline},
		Buttons: []cliq.Button{
			cliq.FunctionButton("Retry failed", ActionFunction, KeyWebhookRetry+":"+id),
			cliq.FunctionButton("Show deliveries", ActionFunction, KeyWebhookDeliveries+":"+id),
			cliq.FunctionButton("Re-enable", ActionFunction, KeyWebhookEnable+":"+id),
		},
		Slides: []cliq.Slide{cliq.LabelSlide("", cliq.Field{Label: "Endpoint", Value: url}, cliq.Field{Label: "Id", Value: id})},
	}
}

// Delivery is one line of WebhookDeliveries.
type Delivery struct {
	EventType string
	Status    string
	At        time.Time
	Code      string // the last attempt's status code, or its error
}

// WebhookDeliveries lists an endpoint's recent messages as a table.
func WebhookDeliveries(id string, ds []Delivery, loc *time.Location, now time.Time) cliq.Message {
	if len(ds) == 0 {
		return cliq.Text("No deliveries to that endpoint in the last 30 days.")
	}
	rows := make([][]string, 0, len(ds))
	for _, d := range ds {
		rows = append(rows, []string{Due(d.At, loc, now), d.EventType, d.Status, clip(d.Code, 60)})
	}
	return cliq.Message{
		Text:    fmt.Sprintf("The last %d messages to webhook %s:", len(ds), id),
		Slides:  []cliq.Slide{cliq.TableSlide("", []string{"When", "Event", "Status", "Last answer"}, rows...)},
		Buttons: []cliq.Button{cliq.FunctionButton("Retry failed", ActionFunction, KeyWebhookRetry+":"+id), cliq.FunctionButton("Re-enable", ActionFunction, KeyWebhookEnable+":"+id)},
	}
}
