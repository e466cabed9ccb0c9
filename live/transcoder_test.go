package live

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/media"
)

// fakeFFmpeg writes an ffmpeg stand-in: body runs first, then the real
// ffmpeg with the same arguments, if body lets it.
func fakeFFmpeg(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ffmpeg")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\nexec ffmpeg \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A transcoder whose ffmpeg dies is started again while its view is
// watched, and the view gets pictures from the new one.
func TestTranscoderRestartsItsFFmpeg(t *testing.T) {
	needFFmpeg(t)
	mark := filepath.Join(t.TempDir(), "died-once")
	s, _ := newTestServer(t, Options{Cameras: []string{"Cam"}, Transcode: media.Transcode{
		FFmpeg: fakeFFmpeg(t, `[ -e "`+mark+`" ] || { touch "`+mark+`"; exit 3; }`)}})
	f := newFeeder(t, s, "Cam", 0, 3600)
	view := s.transcodeView(s.camera("Cam", false))
	if err := s.ensureTranscoder(view); err != nil {
		t.Fatal(err)
	}
	startMuxer(t, s, view.id)
	out := func() float64 { return testutil.ToFloat64(s.met.transcodeFrames.WithLabelValues(view.id, "out")) }
	deadline := time.Now().Add(20 * time.Second)
	for out() < 25 && time.Now().Before(deadline) {
		f.frames(25) // a second of video at a time, as a camera sends it
		time.Sleep(time.Second)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Fatal("the first ffmpeg never ran")
	}
	if out() < 25 {
		t.Fatalf("%v pictures out after ffmpeg died once: it was not started again", out())
	}
}

// A transcoder that does not keep up never holds the camera up: its queue
// drops units up to the next keyframe, and counts them.
func TestTranscoderBehindDrops(t *testing.T) {
	testkit.Long(t)
	s, _ := newTestServer(t, Options{Cameras: []string{"Cam"}, Transcode: media.Transcode{
		FFmpeg: fakeFFmpeg(t, "exec sleep 30")}}) // never reads its input
	f := newFeeder(t, s, "Cam", 0, 3600)
	view := s.transcodeView(s.camera("Cam", false))
	if err := s.ensureTranscoder(view); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the stand-in is running
	start := time.Now()
	f.frames(500)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("500 units took %v to hand over: the camera waited for the transcoder", d)
	}
	in := testutil.ToFloat64(s.met.transcodeFrames.WithLabelValues(view.id, "in"))
	dropped := testutil.ToFloat64(s.met.transcodeFrames.WithLabelValues(view.id, "dropped"))
	if dropped == 0 || in+dropped > 500 {
		t.Fatalf("in %v, dropped %v of 500 units", in, dropped)
	}
}
