package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/testcam"
)

// node is one kuzet process started by a test.
type node struct {
	cmd       *exec.Cmd
	streaming chan struct{} // closed when the camera reports streaming
	exited    chan struct{}
	log       *strings.Builder
}

func startNode(t *testing.T, cfgPath string) *node {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), "run", "-c", cfgPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{cmd: cmd, streaming: make(chan struct{}), exited: make(chan struct{}), log: &strings.Builder{}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			line := sc.Text()
			n.log.WriteString(line + "\n")
			if !once && strings.Contains(line, `msg="camera streaming"`) {
				once = true
				close(n.streaming)
			}
		}
		_ = cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // only our own child, by PID
		<-n.exited
	})
	return n
}

// BUD / NVMS-5.3 / NVMS-6.9: SIGKILL mid-segment, twenty times in a row.
// Every restart repairs the open file to its last complete fragment,
// indexes it, records the gap and resumes; the index stays consistent and
// at most about a second before each kill is lost.
func TestCrashRecovery(t *testing.T) {
	testkit.Long(t)
	if testing.Short() {
		t.Skip("crash loop takes over a minute")
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffprobe not installed: apt-get install -y ffmpeg")
	}
	cam, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "node.yaml")
	cfg := fmt.Sprintf(`node: {id: crash-site, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 1h}
cameras:
  - {id: Camera1, url: %q}
`, dir, cam.URL("cam1"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	const kills = 20
	var killedAt []time.Time
	// excused[k] is time lost in run k that no node could have kept: the
	// camera's frame loop standing still (its process starved of CPU) and
	// the wall clock stepping forward (a fresh machine's first time sync).
	// The node's timeline follows the wall clock at a session's start and
	// the video's own clock after it; the kills are on the wall clock.
	var excused []time.Duration
	var runLogs []string
	base := time.Now()
	wallStep := func(at time.Time) time.Duration { // wall minus monotonic progress since base
		return at.Round(0).Sub(base.Round(0)) - at.Sub(base)
	}
	for i := 0; i < kills; i++ {
		n := startNode(t, cfgPath)
		select {
		case <-n.streaming:
		case <-n.exited:
			t.Fatalf("run %d exited early:\n%s", i, n.log)
		case <-time.After(20 * time.Second):
			t.Fatalf("run %d never streamed:\n%s", i, n.log)
		}
		streamedAt, stalledAt := time.Now(), cam.Stalled()
		// somewhere inside the segment, between fragment boundaries
		time.Sleep(2500*time.Millisecond + rand.N(2000*time.Millisecond))
		now := time.Now()
		killedAt = append(killedAt, now)
		step := wallStep(now) - wallStep(streamedAt)
		if step < 100*time.Millisecond { // the two clocks drift by nanoseconds
			step = 0
		}
		excused = append(excused, step+cam.Stalled()-stalledAt)
		if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-n.exited
		runLogs = append(runLogs, n.log.String())
	}
	// a last, clean run: recording resumes after the 20th kill
	n := startNode(t, cfgPath)
	select {
	case <-n.streaming:
	case <-time.After(20 * time.Second):
		t.Fatalf("final run never streamed:\n%s", n.log)
	}
	time.Sleep(3 * time.Second)
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("node did not stop on SIGTERM")
	}

	idx, err := archive.OpenIndex(filepath.Join(dir, "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if err := idx.Check(); err != nil {
		t.Fatal(err)
	}
	segs, err := idx.Segments("Camera1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	gaps, err := idx.Gaps("Camera1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	repaired := 0
	for _, s := range segs {
		abs := filepath.Join(dir, "archive", filepath.FromSlash(s.Path))
		if got := mediatest.SHA256(t, abs); got != s.SHA256 {
			t.Errorf("%s: sha256 %s, index %s", s.Path, got, s.SHA256)
		}
		if p := mediatest.Probe(t, abs); p.Codec != "h264" || p.Width != 1280 || !p.FirstKey || p.Frames < 25 {
			t.Errorf("%s: ffprobe %+v", s.Path, p)
		}
		if s.Repaired {
			repaired++
		}
	}
	// one per kill; a kill right after an hour boundary may find the new
	// file without a complete fragment, which repair then removes
	if repaired < kills-1 {
		t.Errorf("%d repaired segments, want %d (one per kill)", repaired, kills)
	}
	// one gap per restart; a run killed before its first complete fragment
	// leaves nothing, and its gap merges with the next one
	if len(gaps) > kills || len(gaps) < repaired {
		t.Fatalf("%d gaps after %d restarts and %d repaired files: %+v", len(gaps), kills, repaired, gaps)
	}
	// each gap opens where the killed file's last complete fragment ends,
	// shortly before a kill, and closes after it
	var worst time.Duration
	for i, g := range gaps {
		k := sort.Search(len(killedAt), func(j int) bool { return !killedAt[j].Before(g.Start) })
		if k == len(killedAt) {
			t.Errorf("gap %d starts %v, after the last kill", i, g.Start)
			continue
		}
		lost := killedAt[k].Sub(g.Start)
		if excused[k] > 0 {
			t.Logf("kill %d: %v of the %v before it excused (camera stalled or wall clock stepped)", k, excused[k], lost)
			lost -= excused[k]
		}
		worst = max(worst, lost)
		if lost > 2500*time.Millisecond {
			t.Errorf("kill %d at %v: video lost before the kill = %v (gap %+v)\nrun %d log:\n%s",
				k, killedAt[k].Round(0), lost, g, k, runLogs[k])
		}
		if !g.End.After(killedAt[k]) {
			t.Errorf("gap %d ends %v, before the kill it follows", i, g.End)
		}
	}
	t.Logf("%d segments, %d repaired, %d gaps; worst loss before a kill %v", len(segs), repaired, len(gaps), worst)

	// kuzet archive verify agrees, then names a corrupted and a missing file
	idx.Close()
	if code, out := runCLI(t, "archive", "verify", "--data", dir); code != 0 || !strings.Contains(out, "0 problems") {
		t.Fatalf("verify of the repaired archive: %d %s", code, out)
	}
	bad := filepath.Join(dir, "archive", filepath.FromSlash(segs[1].Path))
	b, _ := os.ReadFile(bad)
	b[len(b)/2] ^= 0xff
	_ = os.WriteFile(bad, b, 0o644)
	_ = os.Remove(filepath.Join(dir, "archive", filepath.FromSlash(segs[2].Path)))
	code, out := runCLI(t, "archive", "verify", "--data", dir)
	if code == 0 || !strings.Contains(out, segs[1].Path+" (Camera1): sha256") || !strings.Contains(out, segs[2].Path+" (Camera1): missing") {
		t.Fatalf("verify after damage: %d %s", code, out)
	}
}
