package webhooks

import (
	"time"

	"github.com/taskerhq/tasker/tasks"
)

// Sample returns a realistic event of type typ in ws, stamped now and
// marked Test, as POST /api/v1/webhooks/{id}/test sends it: the same
// envelope and data a real event of that type carries, about a made-up
// task, so a receiver can be built against it.
func Sample(ws tasks.WorkspaceID, typ tasks.EventType, now time.Time) tasks.Event {
	now = now.UTC().Truncate(time.Millisecond)
	assignee, owner := "usr_01JD5SAMPLEASSIGNEE00000", "usr_01JD5SAMPLECREATOR000000"
	cliqID := "55512345"
	due := now.Add(24 * time.Hour).Truncate(time.Hour)
	task := &tasks.Task{
		ID: "tsk_01JD5SAMPLETASK000000000", Number: 42, Workspace: ws,
		Title: "Prepare the quarterly report", Description: "Collect the figures from finance and draft the summary.",
		Status: tasks.StatusOpen, Priority: tasks.PriorityHigh, Type: "task", Category: "reporting",
		Tags: []string{"finance", "q4"}, Assignee: &assignee, CreatedBy: owner, DueAt: &due,
		CreatedAt: now.Add(-2 * time.Hour), UpdatedAt: now, Version: 3,
	}
	data := tasks.EventData{Task: task, Actor: tasks.Actor{UserID: owner, CliqUserID: cliqID}}
	switch typ {
	case tasks.EventTaskCreated:
		task.Version, task.CreatedAt = 1, now
	case tasks.EventTaskUpdated:
		data.Changes = map[string]tasks.Change{"title": {From: "Prepare the report", To: task.Title}}
	case tasks.EventTaskStatusChanged:
		task.Status = tasks.StatusInProgress
		data.Changes = map[string]tasks.Change{"status": {From: tasks.StatusOpen, To: tasks.StatusInProgress}}
	case tasks.EventTaskCompleted:
		task.Status, task.CompletedBy, task.CompletedAt = tasks.StatusCompleted, &assignee, &now
		data.Changes = map[string]tasks.Change{"status": {From: tasks.StatusOpen, To: tasks.StatusCompleted}}
		data.Actor.UserID = assignee
	case tasks.EventTaskAssigned:
		data.Changes = map[string]tasks.Change{"assignee": {From: nil, To: assignee}}
	case tasks.EventTaskDeleted:
		task.Version++
	case tasks.EventTaskReminder, tasks.EventTaskOverdue:
		data.Actor = tasks.Actor{}
		if typ == tasks.EventTaskOverdue {
			past := now.Add(-time.Hour).Truncate(time.Hour)
			task.DueAt = &past
		}
	case tasks.EventCommentCreated:
		data.Comment = &tasks.Comment{
			ID: "cmt_01JD5SAMPLECOMMENT0000000", TaskID: task.ID, TaskNumber: task.Number,
			Text: "Finance sent the figures; drafting now.", Author: assignee, CreatedAt: now,
		}
		data.Actor.UserID = assignee
	case tasks.EventUserLinked:
		data.Task = nil
		data.User = &tasks.User{
			ID: assignee, Workspace: ws, Name: "Priya Raman", Email: "priya@example.com", Timezone: "Asia/Kolkata",
			CliqUserID: &cliqID, CreatedAt: now.Add(-30 * 24 * time.Hour), UpdatedAt: now,
		}
	}
	return tasks.Event{ID: newEventID(), Type: typ, Timestamp: now, Workspace: ws, Data: data, Test: true}
}
