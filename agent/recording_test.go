package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/testcam"
)

// NVMS-6.15 at a node: a camera recording on events records nothing
// until an operator asks for it (audited, the pre-event seconds kept), a
// plate is read on it or an alarm is raised on it; the hole between says
// why; a continuous camera
// beside it records throughout, and so does the event camera's
// sub-stream: playback takes the main stream around the event and the
// sub-stream between.
func TestEventRecordingAtANode(t *testing.T) {
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true, Cameras: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: gate, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 1m}
cameras:
  - {id: Gate1, url: %q, sub_path: /cam2, record: {mode: event, pre: 2s, post: 2s, on: [api, plate, alarm]}}
  - {id: Yard1, url: %q}
`, dir, src.URL("cam1"), src.URL("cam2")))
	began := time.Now()
	c := newClient(t, "http://"+a.HTTPAddr())
	segs := func(id string) []archive.Segment {
		out, _ := a.Archive().Index().Segments(id, time.Now().Add(-time.Hour), time.Time{})
		return out
	}
	// streaming, and nothing recorded yet
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		// Gate1, its recorded sub-stream, Yard1
		if code, b := c.do("GET", "/api/v1/cameras", ""); code == 200 && strings.Count(b, `"streaming"`) == 3 &&
			strings.Contains(b, `"id": "Gate1~sub"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the cameras never streamed")
		}
	}
	time.Sleep(4 * time.Second)
	if code, b := c.do("POST", "/api/v1/cameras/Yard1/record", `{}`); code != 409 || !strings.Contains(b, "records continuously") {
		t.Fatalf("a continuous camera: %d %s", code, b)
	}
	if code, b := c.do("POST", "/api/v1/cameras/Nope/record", `{}`); code != 404 {
		t.Fatalf("an unknown camera: %d %s", code, b)
	}
	if code, b := c.do("POST", "/api/v1/cameras/Gate1/record", `{"reason": "x", "colour": "red"}`); code != 400 || !strings.Contains(b, "colour") {
		t.Fatalf("a bad body: %d %s", code, b)
	}
	asked := time.Now()
	code, b := c.do("POST", "/api/v1/cameras/Gate1/record", `{"reason": "truck 123ABC02 at the gate"}`)
	var started RecordStarted
	if code != 200 || json.Unmarshal([]byte(b), &started) != nil || started.Until.Sub(started.From) != 4*time.Second {
		t.Fatalf("record now: %d %s", code, b)
	}
	// the file closes once the post-event time is over (two files end to
	// end if the recording crossed a minute: files are cut on the clock)
	var first archive.Segment
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if s := segs("Gate1"); len(s) > 0 && s[len(s)-1].End.After(asked.Add(time.Second)) {
			first = s[0]
			first.End = s[len(s)-1].End
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing recorded after the request")
		}
	}
	if pre := asked.Sub(first.Start); pre < 1900*time.Millisecond || pre > 3100*time.Millisecond {
		t.Errorf("the recording starts %v before the request, want the 2 s pre-event (up to a GOP more)", pre)
	}
	if post := first.End.Sub(asked); post < 1800*time.Millisecond || post > 3*time.Second {
		t.Errorf("the recording ends %v after the request, want the 2 s post-event", post)
	}
	evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
	audited := false
	for _, e := range evs {
		var p audit.Payload
		audited = audited || (json.Unmarshal(e.Payload, &p) == nil && p.Action == audit.ActionRecordStart && p.Object == "Gate1" &&
			strings.Contains(p.Detail, "123ABC02"))
	}
	if !audited {
		t.Error("the request is not in the audit log")
	}

	// a plate read on the camera records it again; the hole says why
	time.Sleep(3 * time.Second)
	if _, err := a.Events().Append(event.New(plates.KindPlateRead, "Gate1", event.SeverityInfo,
		plates.PlateRead{Plate: "777KZ02", Country: "KZ", Confidence: 0.9, First: time.Now(), Last: time.Now(), Frames: 3})); err != nil {
		t.Fatal(err)
	}
	// the new recording's first fragment records the hole before it
	var gaps []archive.Gap
	for deadline := time.Now().Add(15 * time.Second); len(gaps) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a plate read recorded nothing")
		}
		gaps, _ = a.Archive().Index().Gaps("Gate1", time.Now().Add(-time.Hour), time.Time{})
	}
	if len(gaps) != 1 || !strings.Contains(gaps[0].Reason, "event recording: nothing to record after") || gaps[0].Start.Before(first.End) {
		t.Fatalf("the hole between the recordings: %+v", gaps)
	}
	// an alarm raised on the camera records it too: a second hole
	time.Sleep(3 * time.Second)
	if _, err := a.Events().Append(event.New(event.KindAlarmRaised, "Gate1", event.SeverityMedium,
		event.Alarm{Key: "test:Gate1", Type: "test", Message: "a test alarm"})); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); len(gaps) < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("an alarm recorded nothing: %+v", gaps)
		}
		gaps, _ = a.Archive().Index().Gaps("Gate1", time.Now().Add(-time.Hour), time.Time{})
	}
	// the continuous camera and the sub-stream recorded throughout: one
	// open file each, no gap
	for _, id := range []string{"Yard1", "Gate1~sub"} {
		if g, _ := a.Archive().Index().Gaps(id, time.Now().Add(-time.Hour), time.Time{}); len(g) != 0 {
			t.Errorf("%s has gaps: %+v", id, g)
		}
	}
	if _, open := a.Archive().Open("Gate1~sub"); !open {
		t.Error("the event camera's sub-stream is not being recorded")
	}
	// the range from the start: the sub-stream, the event's main stream,
	// the sub-stream again
	to := first.End.Add(2 * time.Second)
	resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/archive/play.m3u8?camera=Gate1&from=" +
		url.QueryEscape(began.UTC().Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(to.UTC().Format(time.RFC3339Nano)))
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Archive-Quality") != "main,sub" || strings.Count(string(pl), "#EXT-X-MAP:") < 3 {
		t.Errorf("the range around the event plays %d %q:\n%s", resp.StatusCode, resp.Header.Get("X-Archive-Quality"), pl)
	}
}

// At a parent that replicates nothing on its own (fragments: none), a
// range of a site's event-recorded camera pulls both streams' files
// before it plays: the sub-stream throughout, the main stream around the
// event.
func TestEventRecordingPlaysAtTheCentre(t *testing.T) {
	src, dir, tls := federationRig(t)
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, tls("centre")))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Gate1, url: %q, sub_path: /cam1, record: {mode: event, pre: 1s, post: 2s, on: [api]}}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), centre.FederationAddr(), tls("site")))
	began := time.Now()
	testkit.WaitFor(t, 40*time.Second, "the sub-stream's files known at the centre", func() bool {
		k, _ := centre.fetchQ.Known("site", "Gate1~sub", time.Time{}, time.Now().Add(time.Hour))
		return len(k) >= 2
	})
	if code, b := newClient(t, "http://"+site.HTTPAddr()).do("POST", "/api/v1/cameras/Gate1/record", `{"reason": "test"}`); code != 200 {
		t.Fatalf("record now: %d %s", code, b)
	}
	testkit.WaitFor(t, 30*time.Second, "the event's main-stream files known at the centre", func() bool {
		k, _ := centre.fetchQ.Known("site", "Gate1", time.Time{}, time.Now().Add(time.Hour))
		return len(k) >= 1
	})
	time.Sleep(3 * time.Second) // the sub-stream goes on after the event
	to := time.Now().Add(-time.Second)
	if held, _ := centre.Archive().Index().Segments("site/Gate1~sub", time.Time{}, time.Time{}); len(held) != 0 {
		t.Fatalf("the centre holds %d sub-stream files before anyone asked", len(held))
	}
	resp, err := http.Get("http://" + centre.HTTPAddr() + "/api/v1/archive/play.m3u8?camera=" + url.QueryEscape("site/Gate1") +
		"&from=" + url.QueryEscape(began.UTC().Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(to.UTC().Format(time.RFC3339Nano)))
	if err != nil {
		t.Fatal(err)
	}
	pl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Archive-Quality") != "main,sub" || strings.Count(string(pl), "#EXT-X-MAP:") < 3 {
		t.Fatalf("the range at the centre: %d %q\n%s", resp.StatusCode, resp.Header.Get("X-Archive-Quality"), pl)
	}
	if held, _ := centre.Archive().Index().Segments("site/Gate1~sub", time.Time{}, time.Time{}); len(held) < 2 {
		t.Errorf("the centre pulled %d sub-stream files", len(held))
	}
}
