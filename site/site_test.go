package site

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

func cam(id, url string) config.Camera {
	return config.Camera{ID: id, URL: url, Transport: "tcp", OfflineAfter: config.Duration(2 * time.Second)}
}

// garbageServer answers every connection with random bytes.
func garbageServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for i := range buf {
					buf[i] = byte(rand.N(256))
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write(buf)
				_, _ = c.Read(buf)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// publishVP8 announces a VP8 stream, a codec no camera profile of the
// node's records.
func publishVP8(t *testing.T, url string) {
	tcp := gortsplib.TransportTCP
	c := &gortsplib.Client{Transport: &tcp}
	desc := &description.Session{Medias: []*description.Media{{
		Type: description.MediaTypeVideo, Formats: []format.Format{&format.VP8{PayloadTyp: 96}},
	}}}
	if err := c.StartRecording(url, desc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
}

func alarmsOf(t *testing.T, l *event.Log, typ string) []event.Event {
	t.Helper()
	all, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []event.Event
	for _, e := range all {
		var a event.Alarm
		if e.Kind == event.KindAlarmRaised && json.Unmarshal(e.Payload, &a) == nil && a.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// Bad input from cameras gives each camera a clear error, and the other
// cameras keep recording.
func TestBadCamerasDoNotDisturbGoodOnes(t *testing.T) {
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	publishVP8(t, src.URL("vp8"))

	dir := t.TempDir()
	events, err := event.OpenLog(filepath.Join(dir, "events.db"), "site-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	arch, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Events: events})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()

	s := New(Options{
		Cameras: []config.Camera{
			cam("Good", src.URL("cam1")),
			cam("Unreachable", "rtsp://"+closedPort(t)+"/stream"),
			cam("Garbage", "rtsp://"+garbageServer(t)+"/stream"),
			cam("Motion", src.URL("vp8")),
			cam("NoSuchPath", src.URL("nothing-here")),
		},
		Events: events,
		Consumers: []media.Consumer{{Name: "recorder", Queue: 256, Critical: true,
			Open: func(camera string, tr media.Track, reason string) (media.Sink, error) {
				return arch.NewRecorder(camera, tr, reason), nil
			}}},
		BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(6 * time.Second)
	status := map[string]Status{}
	for _, st := range s.Status() {
		status[st.ID] = st
	}
	cancel()
	<-done

	good := status["Good"]
	if good.State != StateStreaming || good.Frames < 100 || good.Dropped != 0 {
		t.Errorf("Good: %+v", good)
	}
	want := map[string][]string{
		"Unreachable": {"connect", "refused"},
		"Garbage":     {""},
		"Motion":      {"camera Motion offers VP8", "H.264, H.265, M-JPEG and MPEG-4 Part 2"},
		"NoSuchPath":  {"404"},
	}
	for id, words := range want {
		st := status[id]
		if st.State != StateFailed && st.State != StateConnecting {
			t.Errorf("%s: state %s", id, st.State)
		}
		if st.Reconnects < 1 || !st.Offline {
			t.Errorf("%s: %+v", id, st)
		}
		for _, w := range words {
			if !strings.Contains(st.Reason, w) {
				t.Errorf("%s: reason %q lacks %q", id, st.Reason, w)
			}
		}
	}
	for _, id := range []string{"Unreachable", "Garbage", "Motion", "NoSuchPath"} {
		found := false
		for _, e := range alarmsOf(t, events, event.AlarmCameraOffline) {
			found = found || e.Camera == id
		}
		if !found {
			t.Errorf("no camera_offline alarm for %s", id)
		}
	}
	if n := len(alarmsOf(t, events, event.AlarmCameraOffline)); n != 4 {
		t.Errorf("%d offline alarms, want one per bad camera", n)
	}
	if a := alarmsOf(t, events, event.AlarmUnsupportedCodec); len(a) != 1 || a[0].Camera != "Motion" {
		t.Errorf("unsupported codec alarms: %+v", a)
	}
	// one file, or two when the run crosses a minute boundary (files are
	// cut at wall-clock multiples of the segment period)
	segs, err := arch.Index().Segments("Good", time.Now().Add(-time.Minute), time.Time{})
	var recorded time.Duration
	for _, sg := range segs {
		recorded += sg.Duration()
	}
	if err != nil || len(segs) == 0 || len(segs) > 2 || recorded < 4*time.Second {
		t.Errorf("Good recorded %+v (%v)", segs, err)
	}
}

// slowSink takes a long time per unit, like a stalled disk or analyser.
type slowSink struct{ n atomic.Int64 }

func (s *slowSink) WriteUnit(*media.Unit) error {
	s.n.Add(1)
	time.Sleep(200 * time.Millisecond)
	return nil
}
func (s *slowSink) Close() error { return nil }

type countSink struct{ n atomic.Int64 }

func (s *countSink) WriteUnit(*media.Unit) error { s.n.Add(1); return nil }
func (s *countSink) Close() error                { return nil }

// A slow consumer never stalls ingest: the others get every unit, its own
// drops are counted, and a critical one raises an alarm.
func TestSlowConsumerNeverStallsIngest(t *testing.T) {
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	events, err := event.OpenLog(filepath.Join(t.TempDir(), "events.db"), "site-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	slow, fast := &slowSink{}, &countSink{}
	var mu sync.Mutex
	s := New(Options{
		Cameras: []config.Camera{cam("Cam", src.URL("cam1"))},
		Events:  events,
		Consumers: []media.Consumer{
			{Name: "slow-recorder", Queue: 8, Critical: true, Open: func(string, media.Track, string) (media.Sink, error) {
				mu.Lock()
				defer mu.Unlock()
				return slow, nil
			}},
			{Name: "live", Queue: 64, Open: func(string, media.Track, string) (media.Sink, error) { return fast, nil }},
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(4 * time.Second)
	st := s.Status()[0]
	cancel()
	<-done
	if st.State != StateStreaming || st.FPS < 20 {
		t.Fatalf("ingest stalled: %+v", st)
	}
	if got := fast.n.Load(); uint64(got) != st.Frames && uint64(got)+2 < st.Frames {
		t.Fatalf("fast consumer got %d of %d", got, st.Frames)
	}
	if st.Dropped == 0 || slow.n.Load() >= int64(st.Frames) {
		t.Fatalf("slow consumer: %d written, %d dropped of %d", slow.n.Load(), st.Dropped, st.Frames)
	}
	behind := alarmsOf(t, events, event.AlarmRecorderBehind)
	if len(behind) != 1 || !strings.Contains(fmt.Sprint(string(behind[0].Payload)), "slow-recorder") {
		t.Fatalf("recorder-behind alarms: %+v", behind)
	}
}
