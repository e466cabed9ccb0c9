package record_test

import (
	"context"
	"image"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/record"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/testcam"
)

// NVMS-6.15: a camera recording on motion records nothing while its yard
// is still, then a white box crossing it: the file starts the pre-event
// seconds before the box (ffprobe and the decoded pictures say so) and
// goes on for the post-event time after it leaves. The same picture with
// the box's place masked records nothing.
func TestMotionRecordingKeepsThePreEventSeconds(t *testing.T) {
	testkit.Long(t)
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not installed: apt-get install -y ffmpeg")
	}
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// a grey yard; a white box crossing it from 8 s to 9 s after the
	// camera starts
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
		"-i", "color=c=gray:size=320x240:rate=25,"+
			"drawbox=x=60:y=80:w=100:h=80:color=white:t=fill:enable='between(t,8,8.5)',"+
			"drawbox=x=160:y=80:w=100:h=80:color=white:t=fill:enable='between(t,8.5,9)'",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-bf", "0", "-t", "30",
		"-f", "rtsp", "-rtsp_transport", "tcp", src.URL("yard"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	dir := t.TempDir()
	events, err := event.OpenLog(filepath.Join(dir, "events.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	arch, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Events: events, Segment: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	trig := record.NewTriggers(time.UTC, slog.New(slog.DiscardHandler), nil)
	policy := record.Policy{Mode: record.ModeEvent, Pre: 3 * time.Second, Post: 2 * time.Second, On: []string{record.CauseMotion},
		Motion: record.MotionOptions{FPS: 5}}
	trig.SetPolicy("Yard", policy)
	policy.Motion.Mask = []image.Rectangle{image.Rect(50, 70, 270, 170)} // where the box goes
	trig.SetPolicy("Masked", policy)
	cam := func(id string) config.Camera {
		return config.Camera{ID: id, URL: src.URL("yard"), Transport: "tcp", OfflineAfter: config.Duration(5 * time.Second)}
	}
	s := site.New(site.Options{
		Cameras: []config.Camera{cam("Yard"), cam("Masked")},
		Events:  events,
		Consumers: []media.Consumer{{Name: "recorder", Queue: 512, Critical: true,
			Open: func(camera string, tr media.Track, reason string) (media.Sink, error) {
				return trig.Gate(camera, tr.Codec, arch.NewRecorder(camera, tr, reason)), nil
			}}, trig.MotionConsumer(ffmpeg)},
		BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	segs := func(id string) []archive.Segment {
		out, _ := arch.Index().Segments(id, time.Now().Add(-time.Hour), time.Time{})
		return out
	}
	// the box comes 8 s after ffmpeg starts, and leaves a second later
	if !testkit.Eventually(40*time.Second, func() bool { return len(segs("Yard")) > 0 }) {
		t.Fatalf("no motion recording; cameras %+v", s.Status())
	}
	time.Sleep(3 * time.Second) // the masked camera has had its chance
	cancel()
	<-done

	if got := segs("Masked"); len(got) != 0 {
		t.Errorf("the masked camera recorded %+v", got)
	}
	// one recording: one file, or two when it crossed a minute (files are
	// cut at wall-clock multiples of the segment period), end to end
	got := segs("Yard")
	if len(got) == 0 || len(got) > 2 || (len(got) == 2 && !got[0].End.Equal(got[1].Start)) {
		t.Fatalf("motion recording: %+v", got)
	}
	path := arch.Abs(got[0].Path)
	if len(got) == 2 {
		list := filepath.Join(dir, "list.txt")
		if err := os.WriteFile(list, []byte("file '"+arch.Abs(got[0].Path)+"'\nfile '"+arch.Abs(got[1].Path)+"'\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		path = filepath.Join(dir, "recording.mp4")
		if b, err := exec.Command(ffmpeg, "-v", "error", "-f", "concat", "-safe", "0", "-i", list, "-c", "copy", path).CombinedOutput(); err != nil {
			t.Fatalf("join the two files: %v %s", err, b)
		}
	}
	p := mediatest.Probe(t, path)
	if !p.FirstKey || p.Width != 320 || p.Duration < 5 || p.Duration > 9 {
		t.Fatalf("the recording: %+v (want the box's second, 3 s before and 2 s after it)", p)
	}
	// the decoded pictures: grey for the pre-event seconds, then the box
	out, err := exec.Command(ffmpeg, "-v", "error", "-i", path, "-vf", "crop=200:80:60:80,scale=1:1",
		"-f", "rawvideo", "-pix_fmt", "gray", "pipe:1").Output()
	if err != nil {
		t.Fatal(err)
	}
	boxFrom, boxTo := -1, -1 // frames whose box area is white
	for i, v := range out {
		if v > 150 { // grey is 128; the box fills half the area, white
			if boxFrom < 0 {
				boxFrom = i
			}
			boxTo = i
		}
	}
	if boxFrom < 0 {
		t.Fatalf("the box is not in the recording (%d frames)", len(out))
	}
	// the motion is judged two frames after the box appears (5 fps), so
	// 3 s before the trigger is at least 2.5 s before the box
	if before := float64(boxFrom) / 25; before < 2.5 {
		t.Errorf("%.2f s recorded before the box, want the pre-event 3 s", before)
	}
	if after := float64(len(out)-1-boxTo) / 25; after < 1.5 {
		t.Errorf("%.2f s recorded after the box left, want the post-event 2 s", after)
	}
	t.Logf("recorded %.2f s: %.2f s before the box, %.2f s of box, %.2f s after",
		p.Duration, float64(boxFrom)/25, float64(boxTo-boxFrom+1)/25, float64(len(out)-1-boxTo)/25)
}
