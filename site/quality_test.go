package site

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
)

// The judge of packet loss and frame rate: two bad windows raise, one
// good one clears, a reconnect starts a new window, and a window with too
// few packets says nothing about loss.
func TestQualityJudge(t *testing.T) {
	events, err := event.OpenLog(filepath.Join(t.TempDir(), "events.db"), "site-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	cfg := cam("Lossy", "rtsp://127.0.0.1:1/x")
	cfg.Quality = config.StreamQuality{MaxPacketLoss: 5}
	c := newCamera(cfg, &Options{Events: events, Logger: slog.New(slog.DiscardHandler), QualityWindow: 10 * time.Second}, newMetrics(nil))
	c.st.State = StateStreaming
	c.sessions.Store(1)
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	// window: 250 frames, received and lost packets in it
	window := func(received, lost uint64) {
		c.frames.Add(250)
		c.packets.Add(received)
		c.lost.Add(lost)
		now = now.Add(10 * time.Second)
		c.judgeQuality(now)
	}
	types := func() (out []string) {
		all, _ := events.Range(0, 0)
		for _, e := range all {
			var a event.Alarm
			if json.Unmarshal(e.Payload, &a) == nil && a.Type != "" {
				out = append(out, e.Kind+" "+a.Type)
			}
		}
		return out
	}
	c.judgeQuality(now) // opens the first window
	window(1000, 10)    // 1 %: good
	window(1000, 100)   // 9 %: bad once
	if got := types(); len(got) != 0 {
		t.Fatalf("one bad window raised %v", got)
	}
	window(1000, 100) // bad twice: raised
	window(1000, 200) // still bad: not again
	if got := types(); len(got) != 1 || got[0] != "alarm.raised camera_packet_loss" {
		t.Fatalf("after two bad windows: %v", got)
	}
	all, _ := events.Range(0, 0)
	if msg := string(all[0].Payload); !strings.Contains(msg, "9.1 %") || !strings.Contains(msg, "above 5 %") {
		t.Errorf("message %s", msg)
	}
	window(20, 20)  // too few packets to judge: not bad
	window(1000, 0) // good: cleared
	if got := types(); len(got) != 2 || got[1] != "alarm.cleared camera_packet_loss" {
		t.Fatalf("after a good window: %v", got)
	}
	// a reconnect in the middle of a window starts a new one
	window(1000, 500)
	c.sessions.Add(1)
	c.judgeQuality(now.Add(time.Second))
	now = now.Add(time.Second)
	window(1000, 500)
	if got := types(); len(got) != 2 {
		t.Fatalf("a window across a reconnect was judged: %v", got)
	}
	// 250 frames in 10 s is 25 fps: never a frame-rate alarm here
	for _, ty := range types() {
		if strings.Contains(ty, event.AlarmFrameRate) {
			t.Fatal(ty)
		}
	}
}
