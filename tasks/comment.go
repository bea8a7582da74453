package tasks

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxComment is the longest comment, in code points.
const MaxComment = 10000

// Comment is a remark on a task.
type Comment struct {
	ID         string    `json:"id"`
	TaskID     string    `json:"task_id"`
	TaskNumber int64     `json:"task_number"`
	Text       string    `json:"text"`
	Author     string    `json:"author"`
	CreatedAt  time.Time `json:"created_at"`
}

func validComment(text string) map[string]string {
	p := make(map[string]string)
	switch n := utf8.RuneCountInString(strings.TrimSpace(text)); {
	case n == 0:
		p["text"] = "required"
	case n > MaxComment:
		p["text"] = fmt.Sprintf("at most %d characters", MaxComment)
	case hasControl(text, true):
		p["text"] = "must not contain control characters other than newline and tab"
	}
	return p
}
