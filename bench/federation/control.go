package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/kuzet/kuzet/federation"
)

// controlEvery is how often the parent asks the child's camera something
// (a console polls a PTZ head's status about this often while it moves).
const controlEvery = 100 * time.Millisecond

// answerControl is the child's camera control: it answers at once, so
// that the figure is the control path through the link alone (NVMS-7.1:
// control goes ahead of live video and bulk transfers).
func answerControl(context.Context, federation.ControlReq) (federation.ControlAnswer, error) {
	return federation.ControlAnswer{Status: 200, Body: json.RawMessage(`{"position": {"pan": 0, "tilt": 0, "zoom": 0}}`)}, nil
}

// pollControl sends a control request to the child every controlEvery
// until ctx ends and returns the round trips (a failed request counts as
// the bound it ran into).
func pollControl(ctx context.Context, srv *federation.Server) []time.Duration {
	var out []time.Duration
	t := time.NewTicker(controlEvery)
	defer t.Stop()
	req := federation.ControlReq{Origin: "site", Camera: "Camera1", User: "bench@region", Role: "operator", Body: json.RawMessage(`{"action": "status"}`)}
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
		start := time.Now()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := srv.SendControl(rctx, req)
		cancel()
		if err != nil && ctx.Err() != nil {
			return out
		}
		out = append(out, time.Since(start))
	}
}
