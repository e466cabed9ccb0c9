package sftppush

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

// options for a pusher of n towards sshd d, throttled so that a test can
// catch a transfer in the middle.
func pushOptions(n *node, d *sshd, keyFile, remoteRoot string, logs *logBuffer) Options {
	return Options{
		Host: "127.0.0.1", Port: d.port, User: currentUser(), KeyFile: keyFile, KnownHostKey: d.hostPub,
		Root: remoteRoot, ArchiveRoot: n.arch.Root(), QueuePath: filepath.Join(n.dir, "sftp-push.db"), Log: n.log,
		MaxBytesPerSecond: 1 << 20,
		BackoffMin:        100 * time.Millisecond, BackoffMax: time.Second,
		AlarmAfter: 2 * time.Second, Timeout: 20 * time.Second,
		Logger: logs.Logger(),
	}
}

// drained: every event of the log has been taken and the queue is empty.
func drained(t *testing.T, r *running, n *node) bool {
	c, err := n.log.Cursor(CursorName)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := r.p.Queued()
	return c == n.log.Last() && files == 0
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "root"
}

func resumed(logs *logBuffer) bool {
	for _, r := range logs.Records("sftp push") {
		if from, _ := r["resumed_from"].(float64); from > 0 {
			return true
		}
	}
	return false
}

func alarms(t *testing.T, l *event.Log) (raised, cleared int) {
	t.Helper()
	evs, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind != event.KindAlarmRaised && e.Kind != event.KindAlarmCleared {
			continue
		}
		var a event.Alarm
		if err := json.Unmarshal(e.Payload, &a); err != nil || a.Type != AlarmFailing {
			continue
		}
		if e.Kind == event.KindAlarmRaised {
			raised++
		} else {
			cleared++
		}
	}
	return raised, cleared
}

// CGR-5: the target's SSH server dies in the middle of a transfer and
// comes back; the queue drains to identical files, the interrupted one
// resumed from its .part, and the failing alarm is raised and cleared.
func TestPushSurvivesTargetOutage(t *testing.T) {
	testkit.Long(t)
	n := newNode(t)
	keyFile, authorized := clientKey(t, n.dir)
	d := startSSHD(t, authorized)
	remoteRoot := filepath.Join(t.TempDir(), "push")
	n.record(t, "Camera1", t0, 40*time.Second)
	segs := n.segments(t)
	if len(segs) < 4 {
		t.Fatalf("recorded %d segments, want at least 4", len(segs))
	}
	var logs logBuffer
	r := run(t, pushOptions(n, d, keyFile, remoteRoot, &logs))

	testkit.WaitFor(t, 60*time.Second, "a transfer in the middle of a file", func() bool { return midPart(t, remoteRoot, segs) })
	d.kill()
	testkit.WaitFor(t, 60*time.Second, "the pusher to notice", func() bool { return len(logs.Records("sftp push failed")) > 0 })
	testkit.WaitFor(t, 60*time.Second, "the sftp_push_failing alarm", func() bool { up, _ := alarms(t, n.log); return up == 1 })
	if files, _ := r.p.Queued(); files == 0 {
		t.Fatal("queue empty while the target is down")
	}
	d.start()
	testkit.WaitFor(t, 90*time.Second, "the queue to drain", func() bool { return drained(t, r, n) })
	checkTarget(t, remoteRoot, n.arch.Root(), segs)
	if !resumed(&logs) {
		t.Errorf("no transfer resumed from an offset: %v", logs.Records("sftp push"))
	}
	testkit.WaitFor(t, 30*time.Second, "the alarm to clear", func() bool { _, down := alarms(t, n.log); return down == 1 })
	if up, _ := alarms(t, n.log); up != 1 {
		t.Errorf("alarm raised %d times, want once", up)
	}
	rec := logs.Records("sftp push failed")[0]
	if rec["path"] == nil || rec["err"] == nil {
		t.Errorf("failure log lacks path or error: %v", rec)
	}
}

// The pusher itself is stopped mid-queue (node restart) while recording
// goes on; the new one resumes the interrupted file from its .part and
// pushes everything recorded meanwhile.
func TestPushResumesAfterPusherRestart(t *testing.T) {
	testkit.Long(t)
	n := newNode(t)
	keyFile, authorized := clientKey(t, n.dir)
	d := startSSHD(t, authorized)
	remoteRoot := filepath.Join(t.TempDir(), "push")
	n.record(t, "Camera1", t0, 40*time.Second)
	segs := n.segments(t)

	var logs1 logBuffer
	r1 := run(t, pushOptions(n, d, keyFile, remoteRoot, &logs1))
	testkit.WaitFor(t, 60*time.Second, "a transfer in the middle of a file", func() bool { return midPart(t, remoteRoot, segs) })
	r1.stop(t)
	if files, _ := r1.p.Queued(); files == 0 {
		t.Fatal("queue empty after a stop mid-queue")
	}
	pushedBefore := len(logs1.Records("sftp push"))

	// recording goes on while the pusher is down
	n.record(t, "Camera2", t0.Add(time.Minute), 20*time.Second)
	segs = n.segments(t)

	var logs2 logBuffer
	r2 := run(t, pushOptions(n, d, keyFile, remoteRoot, &logs2))
	testkit.WaitFor(t, 90*time.Second, "the queue to drain", func() bool { return drained(t, r2, n) })
	checkTarget(t, remoteRoot, n.arch.Root(), segs)
	if !resumed(&logs2) {
		t.Errorf("the restarted pusher did not resume from an offset: %v", logs2.Records("sftp push"))
	}
	if got := pushedBefore + len(logs2.Records("sftp push")); got != len(segs) {
		t.Errorf("%d uploads for %d segments: something was pushed twice or not at all", got, len(segs))
	}
}

// An unknown or changed host key is refused with a clear error, and
// nothing is uploaded.
func TestPushRefusesWrongHostKey(t *testing.T) {
	testkit.Long(t)
	n := newNode(t)
	keyFile, authorized := clientKey(t, n.dir)
	d := startSSHD(t, authorized)
	remoteRoot := filepath.Join(t.TempDir(), "push")
	var logs logBuffer
	o := pushOptions(n, d, keyFile, remoteRoot, &logs)

	o.KnownHostKey = ""
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "known_host_key is required") {
		t.Errorf("no known host key: %v", err)
	}

	// another key of the same type, as after a server reinstall or an impostor
	_, other := clientKey(t, t.TempDir())
	for _, known := range []string{other, "[127.0.0.1]:22 " + other, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"} {
		o.KnownHostKey = known
		p, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Check(context.Background())
		if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "refusing to push") {
			t.Errorf("known %q: Check = %v, want a host key mismatch", known, err)
		}
		p.Close()
	}

	// a running pusher keeps the segments and says why
	n.record(t, "Camera1", t0, 10*time.Second)
	o.KnownHostKey = other
	r := run(t, o)
	testkit.WaitFor(t, 30*time.Second, "a refused connection in the log", func() bool {
		for _, rec := range logs.Records("sftp push failed") {
			if e, _ := rec["err"].(string); strings.Contains(e, "host key mismatch") {
				return true
			}
		}
		return false
	})
	if files, _ := r.p.Queued(); files == 0 {
		t.Error("segments left the queue although nothing was pushed")
	}
	if got := remoteFiles(t, remoteRoot); len(got) != 0 {
		t.Errorf("files on a target with the wrong host key: %v", got)
	}
	r.stop(t)

	// the right key in each accepted form passes
	fp := ""
	for _, known := range []string{d.hostPub, "[127.0.0.1]:" + strconv.Itoa(d.port) + " " + d.hostPub} {
		o.KnownHostKey = known
		p, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Check(context.Background()); err != nil {
			t.Errorf("known %q: %v", known, err)
		}
		fp = p.host.fingerprint
		p.Close()
	}
	o.KnownHostKey = fp
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Check(context.Background()); err != nil {
		t.Errorf("fingerprint %s: %v", fp, err)
	}
}

// A segment deleted by retention before its turn is skipped; a file that
// reached the target before a crash is not sent again; a stale .part
// longer than the file is replaced.
func TestPushSkipsGoneAndKeepsDone(t *testing.T) {
	n := newNode(t)
	keyFile, authorized := clientKey(t, n.dir)
	d := startSSHD(t, authorized)
	remoteRoot := filepath.Join(t.TempDir(), "push")
	n.record(t, "Camera1", t0, 30*time.Second)
	segs := n.segments(t)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	gone, done, stale := segs[0], segs[1], segs[2]
	if err := os.Remove(n.arch.Abs(gone.Path)); err != nil {
		t.Fatal(err)
	}
	put := func(rel string, b []byte) {
		p := filepath.Join(remoteRoot, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(n.arch.Abs(done.Path))
	if err != nil {
		t.Fatal(err)
	}
	put(done.Path, b)
	put(stale.Path+".part", make([]byte, stale.Bytes+100))

	var logs logBuffer
	o := pushOptions(n, d, keyFile, remoteRoot, &logs)
	o.MaxBytesPerSecond = 0
	r := run(t, o)
	testkit.WaitFor(t, 60*time.Second, "the queue to drain", func() bool { return drained(t, r, n) })
	checkTarget(t, remoteRoot, n.arch.Root(), segs[1:])
	if len(logs.Records("sftp push: segment no longer in the archive; skipped")) != 1 {
		t.Error("the deleted segment was not reported as skipped")
	}
	if len(logs.Records("sftp push: already on the target")) != 1 {
		t.Error("the segment already on the target was not recognised")
	}
	for _, rec := range logs.Records("sftp push") {
		if rec["path"] == done.Path {
			t.Errorf("%s was uploaded again", done.Path)
		}
	}
}
