package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/plates"
)

// storedCameraPasses reads a stopped node's plate.reads and the reads
// still in its journal.
func storedCameraPasses(t *testing.T, dir string) (reads []plates.PlateRead, journaled int) {
	t.Helper()
	log, err := event.OpenLog(filepath.Join(dir, "events.db"), "gate-site", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	evs, err := log.Search(0, func(e event.Event) bool { return e.Kind == plates.KindPlateRead })
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		var pr plates.PlateRead
		if err := json.Unmarshal(e.Payload, &pr); err != nil {
			t.Fatal(err)
		}
		reads = append(reads, pr)
	}
	j, err := anpr.OpenJournal(filepath.Join(dir, "camera-reads.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	left, err := j.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return reads, len(left)
}

// A camera posts its plate reads to a running node, which is killed
// (SIGKILL) right after the 200s, before any of the passes ended. After a
// restart every acknowledged read is in exactly one stored plate.read and
// the journal of camera reads is empty.
func TestCameraReadsSurviveAKill(t *testing.T) {
	testkit.Long(t)
	dir := t.TempDir()
	addr := testkit.Port(t)
	cfgPath := filepath.Join(dir, "node.yaml")
	cfg := fmt.Sprintf(`node: {id: gate-site, data_dir: %s, time_zone: UTC}
http: {listen: %q}
cameras:
  - id: Gate1
    url: "rtsp://127.0.0.1:1/gate1"
    disabled: true
    anpr: {countries: [KZ], ingest: {format: generic, token: gate1-secret-0123456789}}
`, dir, addr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	listening := func(n *node) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return
			}
			select {
			case <-n.exited:
				t.Fatalf("node exited:\n%s", n.log)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("node never listened on %s", addr)
			}
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/cameras/Gate1/plates", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer gate1-secret-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("camera read %s: %d %s", body, resp.StatusCode, b)
		}
	}

	n := startNode(t, cfgPath)
	listening(n)
	// three vehicles, one of them read three times
	acked := map[string]int{}
	for _, p := range []struct {
		plate string
		conf  float64
	}{{"123ABC02", 0.8}, {"777AAA02", 0.9}, {"123ABC02", 0.85}, {"456KTA05", 0.7}, {"123ABC02", 0.95}} {
		post(fmt.Sprintf(`{"plate": %q, "confidence": %v}`, p.plate, p.conf))
		acked[p.plate]++
	}
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-n.exited
	reads, journaled := storedCameraPasses(t, dir)
	if len(reads) != 0 || journaled != 5 {
		t.Fatalf("after the kill: %d plate reads stored, %d camera reads journaled; want 0 and 5", len(reads), journaled)
	}

	n = startNode(t, cfgPath)
	listening(n) // the journal is replayed before the node listens
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("node did not stop on SIGTERM:\n%s", n.log)
	}
	reads, journaled = storedCameraPasses(t, dir)
	if journaled != 0 {
		t.Errorf("%d camera reads left in the journal", journaled)
	}
	byPlate := map[string]plates.PlateRead{}
	ids := map[string]int{}
	for _, pr := range reads {
		if _, dup := byPlate[pr.Plate]; dup {
			t.Errorf("%s stored twice", pr.Plate)
		}
		byPlate[pr.Plate] = pr
		for _, id := range pr.CameraReads {
			ids[id]++
		}
	}
	for plate, k := range acked {
		pr, ok := byPlate[plate]
		if !ok || pr.Frames != k || len(pr.CameraReads) != k || pr.Source != plates.SourceCamera {
			t.Errorf("%s, read %d times: stored %+v", plate, k, pr)
		}
	}
	if len(reads) != len(acked) || len(ids) != 5 {
		t.Errorf("%d plate reads naming %d camera reads, want %d and 5: %+v", len(reads), len(ids), len(acked), reads)
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("camera read %s in %d plate reads", id, k)
		}
	}
	t.Logf("5 acknowledged reads, killed, restarted: %d plate reads", len(reads))
}
