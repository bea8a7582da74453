package tasks_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/taskerhq/tasker/tasks"
)

func TestChannelSubscriptions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *tasks.Store, ws tasks.WorkspaceID) {
		ctx := context.Background()
		c, err := s.SubscribeChannel(ctx, ws, tasks.Actor{UserID: "usr_a"}, "devtasks", "CT_1", nil)
		if err != nil || fmt.Sprint(c.Events) != "[task.completed task.created task.overdue]" {
			t.Fatalf("default subscribe = %+v, %v", c, err)
		}
		c, err = s.SubscribeChannel(ctx, ws, tasks.Actor{}, "devtasks", "", []tasks.EventType{tasks.EventTaskAssigned, tasks.EventTaskCreated})
		if err != nil || len(c.Events) != 4 || c.ChatID != "CT_1" || c.CreatedBy != "usr_a" {
			t.Fatalf("second subscribe = %+v, %v", c, err)
		}
		if _, err := s.SubscribeChannel(ctx, ws, tasks.Actor{}, "devtasks", "", []tasks.EventType{"task.nope"}); err == nil {
			t.Error("unknown event accepted")
		}
		if _, err := s.SubscribeChannel(ctx, ws, tasks.Actor{}, "has space", "", nil); err == nil {
			t.Error("bad channel name accepted")
		}
		c, err = s.UnsubscribeChannel(ctx, ws, "devtasks", []tasks.EventType{tasks.EventTaskCreated})
		if err != nil || c.Wants(tasks.EventTaskCreated) || !c.Wants(tasks.EventTaskOverdue) {
			t.Fatalf("partial unsubscribe = %+v, %v", c, err)
		}
		s.SubscribeChannel(ctx, ws, tasks.Actor{}, "ops", "", nil)
		all, err := s.ChannelSubscriptions(ctx, ws)
		if err != nil || len(all) != 2 || all[0].Channel != "devtasks" || all[1].Channel != "ops" {
			t.Fatalf("ChannelSubscriptions = %+v, %v", all, err)
		}
		if _, err := s.UnsubscribeChannel(ctx, ws, "devtasks", nil); err != nil {
			t.Fatal(err)
		}
		all, _ = s.ChannelSubscriptions(ctx, ws)
		if len(all) != 1 {
			t.Errorf("after full unsubscribe: %+v", all)
		}
	})
}
