package tamper

import (
	"context"
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/testcam"
)

// The test's windows: short, so that one loop of each clip shows the
// whole story (learn, effect from 26 s to 32 s, recovery).
var rtspConfig = Config{Learn: 5 * time.Second, Persist: 2 * time.Second, Recover: 2 * time.Second}

// observations records what each camera's detector saw, for failures.
type observations struct {
	mu  sync.Mutex
	obs map[string][]Observation
}

func (o *observations) add(cam string, ob Observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs[cam] = append(o.obs[cam], ob)
}

func (o *observations) judged(cam string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, ob := range o.obs[cam] {
		if !ob.Learning {
			n++
		}
	}
	return n
}

func (o *observations) dump(t *testing.T, cam string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, ob := range o.obs[cam] {
		t.Logf("%s %s p5=%.0f p95=%.0f bright=%.2f sharp=%.2f match=%.2f learning=%v cond=%v raised=%v",
			cam, ob.Time.Format("15:04:05.000"), ob.P5, ob.P95, ob.Bright, ob.Sharpness, ob.Match, ob.Learning, ob.Conditions, ob.Raised)
	}
}

type alarmEvent struct {
	event.Event
	p Payload
}

func tamperAlarms(t *testing.T, l *event.Log) map[string][]alarmEvent {
	t.Helper()
	all, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]alarmEvent{}
	for _, e := range all {
		if e.Kind != event.KindAlarmRaised && e.Kind != event.KindAlarmCleared {
			continue
		}
		var p Payload
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatalf("alarm payload %s: %v", e.Payload, err)
		}
		if strings.HasPrefix(p.Type, "tamper_") {
			out[e.Camera] = append(out[e.Camera], alarmEvent{e, p})
		}
	}
	return out
}

// loopStart is when the loop of a clip of frames holding instant at began,
// for a server whose loop started at start.
func loopStart(at, start time.Time, frames int) time.Time {
	loop := time.Duration(frames) * time.Second / clipFPS
	return start.Add(at.Sub(start) / loop * loop)
}

// Clips derived from the synthetic camera's, served over RTSP by testcam,
// pulled by a site and decoded by the shared ffmpeg decoder: each tamper
// kind raises its own alarm (and no other) once it has persisted, and
// clears once the clip is clean again; the clean clip and a gradual
// day-to-night dimming raise nothing.
func TestTamperOverRTSP(t *testing.T) {
	testkit.Long(t)
	if testing.Short() {
		t.Skip("streams clips in real time")
	}
	dir := t.TempDir()
	t0 := time.Now()
	clips := deriveClips(t, dir)
	t.Logf("clips derived in %v", time.Since(t0).Round(100*time.Millisecond))

	events, err := event.OpenLog(filepath.Join(dir, "events.db"), "site-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()

	names := map[string]string{"clean": "Clean", "night": "Night", "covered": "Covered",
		"blinded": "Blinded", "moved": "Moved", "defocused": "Defocused"}
	seen := &observations{obs: map[string][]Observation{}}
	camCfg := map[string]Config{}
	for _, cam := range names {
		camCfg[cam] = rtspConfig
	}
	tc, err := NewConsumer(ConsumerOptions{
		Cameras: camCfg, Events: events,
		StateDir: filepath.Join(dir, "state"), SnapshotDir: filepath.Join(dir, "snapshots"),
		OnObserve: seen.add,
	})
	if err != nil {
		t.Fatal(err)
	}

	starts := map[string]time.Time{}
	var cams []config.Camera
	for clip, cam := range names {
		start := time.Now()
		srv, err := testcam.Start(testcam.Options{Clip: clips[clip], DisableUDP: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		starts[cam] = start
		cams = append(cams, config.Camera{ID: cam, URL: srv.URL("cam1"), Transport: "tcp",
			OfflineAfter: config.Duration(10 * time.Second)})
	}
	s := site.New(site.Options{Cameras: cams, Consumers: []media.Consumer{tc.Site()}, Events: events,
		BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	effectCams := []string{"Covered", "Blinded", "Moved", "Defocused"}
	finished := func() bool {
		got := tamperAlarms(t, events)
		for _, cam := range effectCams {
			evs := got[cam]
			if len(evs) < 2 || evs[1].Kind != event.KindAlarmCleared {
				return false
			}
		}
		// a whole loop judged on the clean and dimming clips
		return seen.judged("Clean") >= 21 && seen.judged("Night") >= 21
	}
	start0 := time.Now()
	deadline := start0.Add(75 * time.Second)
	for !finished() && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	cancel()
	<-done
	t.Logf("streamed for %v", time.Since(start0).Round(time.Second))

	got := tamperAlarms(t, events)
	for _, cam := range []string{"Clean", "Night"} {
		if n := seen.judged(cam); n < 21 {
			t.Errorf("%s: only %d frames judged", cam, n)
		}
		for _, e := range got[cam] {
			t.Errorf("%s: unexpected alarm %s %s: %s", cam, e.Kind, e.p.Type, e.p.Message)
		}
	}
	effectStart := time.Duration(effectFrom) * time.Second / clipFPS
	effectEnd := time.Duration(effectTo) * time.Second / clipFPS
	for _, cam := range effectCams {
		kind := Kind(strings.ToLower(cam))
		evs := got[cam]
		ok := len(evs) >= 2
		for i, e := range evs {
			want := event.KindAlarmRaised
			if i%2 == 1 {
				want = event.KindAlarmCleared
			}
			if e.Kind != want || e.p.Type != kind.AlarmType() || e.p.Key != kind.AlarmKey(cam) {
				t.Errorf("%s: event %d is %s %s (%s), want %s %s", cam, i, e.Kind, e.p.Type, e.p.Key, want, kind.AlarmType())
				ok = false
			}
		}
		if !ok {
			t.Errorf("%s: alarms %+v", cam, evs)
			seen.dump(t, cam)
			continue
		}
		raise, clear := evs[0], evs[1]
		if raise.Severity != kind.Severity() {
			t.Errorf("%s: severity %q, want %q", cam, raise.Severity, kind.Severity())
		}
		// raised once the condition had held for Persist, on the next
		// analysed frame (one a second)
		held := raise.Time.Sub(raise.p.Since)
		if held < rtspConfig.Persist || held > rtspConfig.Persist+1500*time.Millisecond {
			t.Errorf("%s: raised after the condition held %v, want %v (+ one frame)", cam, held, rtspConfig.Persist)
		}
		// The condition began with the effect and ended with it. Frame
		// times are when their access unit arrived; the shared decoder may
		// pair a frame with the unit before it (one keyframe early), and the
		// server's loop may run a little late on a busy machine.
		pass := loopStart(raise.p.Since.Add(time.Second), starts[cam], 2*500)
		if at := raise.p.Since.Sub(pass); at < effectStart-1500*time.Millisecond || at > effectStart+1500*time.Millisecond {
			t.Errorf("%s: condition seen from clip time %v, the effect starts at %v", cam, at, effectStart)
			seen.dump(t, cam)
		}
		if at := clear.Time.Sub(pass); at < effectEnd+rtspConfig.Recover-1500*time.Millisecond ||
			at > effectEnd+rtspConfig.Recover+2500*time.Millisecond {
			t.Errorf("%s: cleared at clip time %v, the effect ends at %v", cam, at, effectEnd)
			seen.dump(t, cam)
		}
		if raise.p.Snapshot == "" {
			t.Errorf("%s: raise without snapshot", cam)
		} else if f, err := os.Open(filepath.Join(dir, "snapshots", raise.p.Snapshot)); err != nil {
			t.Errorf("%s: snapshot: %v", cam, err)
		} else {
			cfg, err := jpeg.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.Width != 1280 || cfg.Height != 720 {
				t.Errorf("%s: snapshot is not a 1280x720 JPEG: %+v %v", cam, cfg, err)
			}
		}
	}
	// every detector kept its learned scene
	var states []string
	for _, cam := range names {
		if _, err := os.Stat(filepath.Join(dir, "state", cam+".json")); err == nil {
			states = append(states, cam)
		}
	}
	sort.Strings(states)
	if len(states) != len(names) {
		t.Errorf("state files for %v only", states)
	}
}
