package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/testcam"
)

// Issue 14, part 8: after a disk-full spell and a read-only spell every
// later file was labelled early by the outages' length (a file created at
// 16:52:31 indexed as 16:46:00-16:47:00), no gap was recorded, and the
// grave archive_write_failed alarm, raised again inside its suppression
// window, showed cleared while recording was failing. These tests drive
// real RTSP from the synthetic camera through a node whose archive fails
// for a while, then hold every file against the wall clock.

// outage is one spell of failing writes, as the test saw it.
type outage struct {
	from, to time.Time
	errno    string // what the gap's reason must name
}

// outageTolerance bounds how far a file's recorded start or end may be
// from when it was created or last written: a frame's way through the
// node's queues and a fragment's flush on a loaded machine.
const outageTolerance = 1500 * time.Millisecond

// outageNode runs a site node recording Camera1 from a synthetic camera
// into root (default DATA_DIR/archive), with 2 s segments.
func outageNode(t *testing.T, root string, o Options) (*Agent, string, func() error) {
	t.Helper()
	cam, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cam.Close)
	dir := t.TempDir()
	if root == "" {
		root = filepath.Join(dir, "archive")
	}
	cfg := fmt.Sprintf(`
node: {id: site, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {root: %s, segment: 2s, min_free_gb: 0}
cameras: [{id: Camera1, url: %q}]
`, dir, root, cam.URL("cam1"))
	a, stop := startAgentWith(t, cfg, o)
	return a, root, stop
}

// startAgentWith is startAgent with Options.
func startAgentWith(t *testing.T, yaml string, o Options) (*Agent, func() error) {
	t.Helper()
	testkit.Long(t) // a running node with its cameras and links
	cfg, err := config.Parse([]byte(yaml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	o.Version = "test"
	a, err := New(cfg, log, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = a.Run(ctx)
		close(done)
	}()
	stop := func() error {
		cancel()
		<-done
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return a, stop
}

// alarmWatch samples whether archive_write_failed is open, every 100 ms.
type alarmWatch struct {
	mu      sync.Mutex
	samples []alarmSample
	stop    chan struct{}
	done    chan struct{}
}

type alarmSample struct {
	at   time.Time
	open bool
}

func watchWriteAlarm(a *Agent) *alarmWatch {
	w := &alarmWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			open := a.alarms.Active("site", event.AlarmArchiveWrite+":Camera1")
			w.mu.Lock()
			w.samples = append(w.samples, alarmSample{time.Now(), open})
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *alarmWatch) end() []alarmSample {
	close(w.stop)
	<-w.done
	return w.samples
}

// waitFiles waits until Camera1 has closed n more files than it had.
func waitFiles(t *testing.T, a *Agent, n int, within time.Duration) {
	t.Helper()
	have := func() int {
		segs, _ := a.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
		return len(segs)
	}
	want := have() + n
	deadline := time.Now().Add(within)
	for have() < want {
		if time.Now().After(deadline) {
			t.Fatalf("Camera1 closed %d files in %v, want %d", have()-want+n, within, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// birth is when a file was created, by the file system's clock.
func birth(t *testing.T, path string) (time.Time, bool) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_BTIME, &st); err != nil || st.Mask&unix.STATX_BTIME == 0 {
		return time.Time{}, false
	}
	return time.Unix(st.Btime.Sec, int64(st.Btime.Nsec)), true
}

func within(a, b time.Time, d time.Duration) bool { return a.Sub(b).Abs() <= d }

// checkOutages holds the archive to the wall clock after outages: every
// file's recorded start is when it was created and its end when it was
// last written; nothing claims time inside an outage; each outage is one
// gap saying why; and archive_write_failed stood open through each
// outage, cleared between them.
func checkOutages(t *testing.T, a *Agent, root string, outs []outage, alarms []alarmSample) {
	t.Helper()
	segs, err := a.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(x time.Time) string { return x.UTC().Format("15:04:05.000") }
	for _, o := range outs {
		t.Logf("outage %s-%s (%s)", stamp(o.from), stamp(o.to), o.errno)
	}
	checked := 0
	for _, s := range segs {
		abs := filepath.Join(root, filepath.FromSlash(s.Path))
		st, err := os.Stat(abs)
		if err != nil {
			t.Errorf("%s: %v", s.Path, err)
			continue
		}
		born, ok := birth(t, abs)
		t.Logf("%s %s-%s created %s written %s repaired=%v", s.Path, stamp(s.Start), stamp(s.End), stamp(born), stamp(st.ModTime()), s.Repaired)
		if ok && !within(s.Start, born, outageTolerance) {
			t.Errorf("%s starts %s but was created at %s", s.Path, stamp(s.Start), stamp(born))
		}
		if !s.Repaired && !within(s.End, st.ModTime(), outageTolerance) {
			t.Errorf("%s ends %s but was last written at %s", s.Path, stamp(s.End), stamp(st.ModTime()))
		}
		for _, o := range outs {
			// a real disk may take a file before the outage is over (a
			// failed file cut shorter frees room): then it was made then
			madeIn := ok && born.After(o.from) && born.Before(o.to)
			if s.End.After(o.from.Add(outageTolerance)) && s.Start.Before(o.to) && !madeIn {
				t.Errorf("%s claims %s-%s, across the outage %s-%s", s.Path, stamp(s.Start), stamp(s.End), stamp(o.from), stamp(o.to))
			}
		}
		if sum := mediatest.SHA256(t, abs); sum != s.SHA256 {
			t.Errorf("%s: sha256 %s, index %s", s.Path, sum, s.SHA256)
		}
		checked++
	}
	for _, o := range outs {
		after := 0
		for _, s := range segs {
			if !s.Start.Before(o.to) {
				after++
			}
		}
		if after == 0 {
			t.Errorf("no file after the outage ending %s", stamp(o.to))
		}
	}

	gaps, err := a.Archive().Index().Gaps("Camera1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != len(outs) {
		t.Fatalf("%d gaps for %d outages: %+v", len(gaps), len(outs), gaps)
	}
	for i, o := range outs {
		g := gaps[i]
		t.Logf("gap %s-%s %q", stamp(g.Start), stamp(g.End), g.Reason)
		// the gap runs from the last complete fragment before the outage
		// (up to a part, 1 s, earlier) to the first file recorded after
		// it, which starts at a keyframe once the disk takes writes again
		var next archive.Segment
		for _, s := range segs {
			if !s.Start.Before(g.Start) {
				next = s
				break
			}
		}
		if g.Start.Before(o.from.Add(-time.Second-outageTolerance)) || g.Start.After(o.from.Add(outageTolerance)) ||
			g.End.Before(o.from) || g.End.After(o.to.Add(gop+outageTolerance)) || !g.End.Equal(next.Start) {
			t.Errorf("gap %s-%s does not match the outage %s-%s (next file from %s)", stamp(g.Start), stamp(g.End),
				stamp(o.from), stamp(o.to), stamp(next.Start))
		}
		if !strings.HasPrefix(g.Reason, "write failed: ") || !strings.Contains(g.Reason, o.errno) {
			t.Errorf("gap reason %q, want \"write failed: …%s…\"", g.Reason, o.errno)
		}
	}
	all, err := a.Events().Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var gapEvents []archive.Gap
	for _, e := range all {
		if e.Kind == event.KindGap && e.Camera == "Camera1" {
			var g archive.Gap
			if err := json.Unmarshal(e.Payload, &g); err != nil {
				t.Fatal(err)
			}
			gapEvents = append(gapEvents, g)
		}
	}
	if len(gapEvents) != len(gaps) {
		t.Errorf("archive.gap events %+v, gaps %+v", gapEvents, gaps)
	}
	for i := range min(len(gapEvents), len(gaps)) {
		if gapEvents[i] != gaps[i] {
			t.Errorf("archive.gap event %+v, index %+v", gapEvents[i], gaps[i])
		}
	}

	// the alarm: open from shortly after each outage began until it ended
	// (raised at the first failed write, within a part), cleared between
	for i, o := range outs {
		var seenOpen, clearedBefore bool
		for _, s := range alarms {
			switch {
			case i > 0 && s.at.After(outs[i-1].to) && s.at.Before(o.from):
				clearedBefore = clearedBefore || !s.open
			case s.at.After(o.from.Add(2*time.Second)) && s.at.Before(o.to):
				seenOpen = true
				if !s.open {
					t.Errorf("archive_write_failed shown cleared at %s, inside the outage %s-%s", stamp(s.at), stamp(o.from), stamp(o.to))
				}
			}
		}
		if !seenOpen {
			t.Errorf("archive_write_failed never seen open in the outage %s-%s", stamp(o.from), stamp(o.to))
		}
		if i > 0 && !clearedBefore {
			t.Errorf("archive_write_failed never cleared before the outage %s-%s: the recurrence was not tested", stamp(o.from), stamp(o.to))
		}
	}
	if checked < 6 {
		t.Errorf("only %d files", checked)
	}
}

// storageFault fails the archive's writes while set, as a full or
// read-only disk would.
type storageFault struct {
	mu  sync.Mutex
	err error
}

func (f *storageFault) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *storageFault) check(op, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if op == "repair" && !errors.Is(f.err, syscall.EROFS) {
		return nil // a full disk still lets a file be cut shorter
	}
	return f.err
}

// The storage outage through the archive's fault hook: runs anywhere.
func TestRecorderStorageOutage(t *testing.T) {
	var fault storageFault
	a, root, stop := outageNode(t, "", Options{ArchiveFault: fault.check})
	alarms := watchWriteAlarm(a)
	waitFiles(t, a, 2, 30*time.Second)

	var outs []outage
	spell := func(err error, errno string, d time.Duration) {
		o := outage{from: time.Now(), errno: errno}
		fault.set(err)
		time.Sleep(d)
		fault.set(nil)
		o.to = time.Now()
		outs = append(outs, o)
	}
	spell(syscall.ENOSPC, "no space left on device", 4*time.Second)
	waitFiles(t, a, 2, 20*time.Second) // one clean close clears the alarm
	time.Sleep(time.Second)
	spell(syscall.EROFS, "read-only file system", 6*time.Second)
	waitFiles(t, a, 3, 20*time.Second)
	checkOutages(t, a, root, outs, alarms.end())
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// run runs a command for the privileged test, failing with the command.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// The same on a real file system: ext4 on a loop device, filled until
// writes fail with ENOSPC, then turned read-only by an ext4 error as
// errors=remount-ro does in the field (/sys/fs/ext4/DEV/trigger_fs_error),
// and brought back by unmounting, e2fsck and mounting again. Needs root
// (loop devices, mount); skipped otherwise.
func TestRecorderRealDiskFullAndReadOnly(t *testing.T) {
	const cmd = "sudo go test -count=1 -run TestRecorderRealDiskFullAndReadOnly ./agent"
	if os.Geteuid() != 0 {
		t.Skipf("needs root for a loop device and mount; run: %s", cmd)
	}
	for _, tool := range []string{"mkfs.ext4", "mount", "umount", "e2fsck", "chattr", "findmnt"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: apt-get install -y e2fsprogs mount util-linux", tool)
		}
	}
	dir := t.TempDir()
	img, root := filepath.Join(dir, "archive.img"), filepath.Join(dir, "archive")
	run(t, "truncate", "-s", "96M", img)
	run(t, "mkfs.ext4", "-q", "-F", "-m", "0", img)
	if err := os.Mkdir(root, 0o750); err != nil {
		t.Fatal(err)
	}
	// nothing may land in the directory under the mount point while the
	// file system is away
	run(t, "chattr", "+i", root)
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", root).Run() })
	mount := func() {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "loop,errors=remount-ro", img, root).CombinedOutput(); err != nil {
			t.Fatalf("mount -o loop,errors=remount-ro %s %s: %v: %s\nthe test needs loop devices and mount (CAP_SYS_ADMIN): run it as root outside a restricted container: %s",
				img, root, err, out, cmd)
		}
	}
	umount := func() error {
		var err error
		for range 100 {
			var out []byte
			if out, err = exec.Command("umount", root).CombinedOutput(); err == nil {
				return nil
			}
			err = fmt.Errorf("umount %s: %v: %s", root, err, out)
			time.Sleep(20 * time.Millisecond)
		}
		return err
	}
	mount()
	t.Cleanup(func() {
		if err := umount(); err != nil {
			_ = exec.Command("umount", "-l", root).Run()
		}
	})
	dev, err := exec.Command("findmnt", "-n", "-o", "SOURCE", root).Output()
	if err != nil {
		t.Fatal(err)
	}
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(strings.TrimSpace(string(dev))), "trigger_fs_error")
	if _, err := os.Stat(trigger); err != nil {
		t.Skipf("this kernel cannot turn ext4 read-only on demand: %v", err)
	}

	a, _, stop := outageNode(t, root, Options{})
	alarms := watchWriteAlarm(a)
	waitFiles(t, a, 2, 30*time.Second)

	var outs []outage
	// a full disk: fill it, keep it full, free it
	o := outage{from: time.Now(), errno: "no space left on device"}
	filler := filepath.Join(root, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1 << 20, 4 << 10, 1} { // to the last byte
		chunk := make([]byte, size)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	f.Close()
	time.Sleep(4 * time.Second)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	o.to = time.Now()
	outs = append(outs, o)
	waitFiles(t, a, 2, 20*time.Second)
	time.Sleep(time.Second)

	// read-only: an ext4 error remounts it, open files and all
	o = outage{from: time.Now(), errno: "read-only file system"}
	if err := os.WriteFile(trigger, []byte("kuzet test: read-only spell\n"), 0); err != nil {
		t.Fatalf("trigger an ext4 error: %v", err)
	}
	time.Sleep(5 * time.Second)
	if err := umount(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("e2fsck", "-f", "-y", img).CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() > 1 { // 1: errors corrected
			t.Fatalf("e2fsck -f -y %s: %v: %s", img, err, out)
		}
	}
	mount()
	o.to = time.Now()
	outs = append(outs, o)
	waitFiles(t, a, 3, 20*time.Second)
	checkOutages(t, a, root, outs, alarms.end())
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
