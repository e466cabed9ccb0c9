package agent

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// UA-3.3.1: a tractor's front plate and its trailer's rear plate, read by
// two cameras within the window, become one passage; a read waiting for
// its partner survives a restart, and no passage is stored twice.
func TestPassagesPairAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	yaml := fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
cameras:
  - {id: Front, url: "rtsp://127.0.0.1:1/x", disabled: true}
  - {id: Rear, url: "rtsp://127.0.0.1:1/y", disabled: true}
anpr:
  passages: [{front: Front, rear: Rear, window: 3s}]
`, dir)
	a, stop := startAgent(t, yaml)
	read := func(a *Agent, cam, plate string) {
		now := time.Now().UTC()
		e := event.New(plates.KindPlateRead, cam, "", plates.PlateRead{Plate: plate, Confidence: 0.9, First: now, Last: now})
		if _, err := a.Events().Append(e); err != nil {
			t.Fatal(err)
		}
	}
	passages := func(a *Agent) []plates.Passage {
		evs, err := a.Events().Search(0, func(e event.Event) bool { return e.Kind == plates.KindPassage })
		if err != nil {
			t.Fatal(err)
		}
		var out []plates.Passage
		for i := len(evs) - 1; i >= 0; i-- {
			var p plates.Passage
			_ = json.Unmarshal(evs[i].Payload, &p)
			out = append(out, p)
		}
		return out
	}
	waitFor := func(a *Agent, n int) []plates.Passage {
		deadline := time.Now().Add(15 * time.Second)
		for {
			ps := passages(a)
			if len(ps) >= n || time.Now().After(deadline) {
				return ps
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	read(a, "Front", "123ABC02")
	read(a, "Rear", "AB123402")
	if ps := waitFor(a, 1); len(ps) != 1 || !ps[0].Complete || ps[0].Tractor != "123ABC02" || ps[0].Trailer != "AB123402" {
		t.Fatalf("passages %+v", ps)
	}
	read(a, "Front", "456KTA05") // its trailer is read after a restart
	time.Sleep(300 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	a, _ = startAgent(t, yaml)
	read(a, "Rear", "KT456705")
	ps := waitFor(a, 2)
	if len(ps) != 2 || ps[1].Tractor != "456KTA05" || ps[1].Trailer != "KT456705" || !ps[1].Complete {
		t.Fatalf("after restart: %+v", ps)
	}
	read(a, "Front", "777AAA02") // no trailer: a one-sided passage after the window
	ps = waitFor(a, 3)
	if len(ps) != 3 || ps[2].Complete || ps[2].Tractor != "777AAA02" {
		t.Fatalf("solo tractor: %+v", ps)
	}
	time.Sleep(1500 * time.Millisecond)
	if ps := passages(a); len(ps) != 3 {
		t.Fatalf("%d passages stored, want 3: %+v", len(ps), ps)
	}
}
