package sftppush

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

func seg(p string, n int64) item {
	return item{Seg: archive.Segment{Camera: "Camera1", Path: p, Bytes: n}}
}

func TestQueueOrderDedupeAndPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	q, err := openQueue(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := q.add([]item{seg("a.mp4", 10), seg("b.mp4", 20), seg("a.mp4", 10)})
	if err != nil || n != 2 {
		t.Fatalf("add = %d, %v; want 2 new", n, err)
	}
	if n, _ := q.add([]item{seg("b.mp4", 20), seg("c.mp4", 30)}); n != 1 {
		t.Fatalf("re-adding queued paths added %d, want only c", n-1)
	}
	if files, bytes := q.size(); files != 3 || bytes != 60 {
		t.Fatalf("size = %d files %d bytes", files, bytes)
	}
	key, it, ok, err := q.first()
	if err != nil || !ok || it.Seg.Path != "a.mp4" {
		t.Fatalf("first = %v %v %v", it.Seg.Path, ok, err)
	}
	// a file refused by a reachable target goes to the back
	if err := q.requeue(key, it); err != nil {
		t.Fatal(err)
	}
	if _, it, _, _ := q.first(); it.Seg.Path != "b.mp4" {
		t.Fatalf("after requeue first is %s, want b.mp4", it.Seg.Path)
	}
	if n, _ := q.add([]item{seg("a.mp4", 10)}); n != 0 {
		t.Fatal("a requeued path was queued twice")
	}
	if err := q.setAlarmed(true); err != nil {
		t.Fatal(err)
	}
	if err := q.close(); err != nil {
		t.Fatal(err)
	}

	q, err = openQueue(path)
	if err != nil {
		t.Fatal(err)
	}
	defer q.close()
	if files, bytes := q.size(); files != 3 || bytes != 60 {
		t.Fatalf("after reopen size = %d files %d bytes", files, bytes)
	}
	if on, err := q.alarmed(); err != nil || !on {
		t.Errorf("alarm state lost: %v %v", on, err)
	}
	var order []string
	for {
		key, it, ok, err := q.first()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		order = append(order, it.Seg.Path)
		if it.Seg.Path == "a.mp4" && it.Tries != 1 {
			t.Errorf("a.mp4 tries = %d, want 1", it.Tries)
		}
		if err := q.done(key, it); err != nil {
			t.Fatal(err)
		}
		if err := q.done(key, it); err != nil { // twice is harmless
			t.Fatal(err)
		}
	}
	if got := strings.Join(order, ","); got != "b.mp4,c.mp4,a.mp4" {
		t.Errorf("order %s", got)
	}
	if files, bytes := q.size(); files != 0 || bytes != 0 {
		t.Errorf("size after draining = %d, %d", files, bytes)
	}
}

// Only this node's segment.closed events are queued; unreadable ones and
// paths that could leave the archive are skipped without blocking the
// rest, and the cursor moves past everything.
func TestFeedTakesOwnSegmentsOnly(t *testing.T) {
	dir := t.TempDir()
	l, err := event.OpenLog(filepath.Join(dir, "events.db"), "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	app := func(e event.Event) {
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	app(event.New(event.KindSegmentClosed, "Camera1", event.SeverityInfo, archive.Segment{Camera: "Camera1", Path: "Camera1/2025/08/18/14/a.mp4", Bytes: 5}))
	app(event.Event{Kind: event.KindSegmentClosed, Camera: "Camera1", Payload: []byte(`{"path":5}`)})
	app(event.New(event.KindSegmentClosed, "Camera1", event.SeverityInfo, archive.Segment{Path: "../../etc/passwd.mp4"}))
	app(event.New(event.KindSegmentClosed, "Camera1", event.SeverityInfo, archive.Segment{Path: "/abs/x.mp4"}))
	app(event.New(event.KindCameraState, "Camera1", event.SeverityInfo, map[string]string{"state": "streaming"}))
	// a child's segment, replicated into this log, is not this node's to push
	if _, err := l.Ingest([]event.Event{{Origin: "site-2", Seq: 1, Kind: event.KindSegmentClosed,
		Payload: []byte(`{"path":"Camera9/2025/08/18/14/b.mp4"}`)}}, "site-2"); err != nil {
		t.Fatal(err)
	}
	app(event.New(event.KindSegmentClosed, "Camera1", event.SeverityInfo, archive.Segment{Camera: "Camera1", Path: "Camera1/2025/08/18/14/c.mp4", Bytes: 7}))

	var logs logBuffer
	p, err := New(Options{Host: "127.0.0.1", User: "u", Password: "pw", KnownHostKey: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
		Root: "/push", ArchiveRoot: dir, QueuePath: filepath.Join(dir, "q.db"), Log: l, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.feed(ctx); close(done) }()
	testkit.WaitFor(t, 30*time.Second, "the cursor to reach the end of the log", func() bool {
		c, _ := l.Cursor(CursorName)
		return c == l.Last()
	})
	cancel()
	<-done
	var got []string
	for {
		key, it, ok, err := p.q.first()
		if err != nil || !ok {
			break
		}
		got = append(got, it.Seg.Path)
		p.q.done(key, it)
	}
	if strings.Join(got, ",") != "Camera1/2025/08/18/14/a.mp4,Camera1/2025/08/18/14/c.mp4" {
		t.Errorf("queued %v", got)
	}
	if n := len(logs.Records("sftp push: segment event unreadable; skipped")); n != 1 {
		t.Errorf("%d unreadable events logged, want 1", n)
	}
	if n := len(logs.Records("sftp push: segment path refused; skipped")); n != 2 {
		t.Errorf("%d refused paths logged, want 2", n)
	}
}

func TestOptionsCheckedWithClearErrors(t *testing.T) {
	dir := t.TempDir()
	l, err := event.OpenLog(filepath.Join(dir, "events.db"), "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	good := func() Options {
		return Options{Host: "127.0.0.1", User: "u", Password: "pw", KnownHostKey: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
			Root: "/push", ArchiveRoot: dir, QueuePath: filepath.Join(dir, "q.db"), Log: l}
	}
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"host", func(o *Options) { o.Host = "" }, "host is not set"},
		{"port", func(o *Options) { o.Port = 70000 }, "port 70000"},
		{"user", func(o *Options) { o.User = "" }, "user is not set"},
		{"credentials", func(o *Options) { o.Password = "" }, "password or a key file"},
		{"relative root", func(o *Options) { o.Root = "push" }, `root "push" must be an absolute`},
		{"known host", func(o *Options) { o.KnownHostKey = "ssh-ed25519 AAAA" }, "known_host_key"},
		{"key file", func(o *Options) { o.KeyFile = filepath.Join(dir, "nope") }, "read key file"},
		{"queue", func(o *Options) { o.QueuePath = "" }, "queue path"},
		{"log", func(o *Options) { o.Log = nil }, "event log"},
		{"rate", func(o *Options) { o.MaxBytesPerSecond = -1 }, "negative"},
		{"backoff", func(o *Options) { o.BackoffMin, o.BackoffMax = time.Minute, time.Second }, "backoff"},
	} {
		o := good()
		tc.mod(&o)
		p, err := New(o)
		if err == nil {
			p.Close()
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to name %q", tc.name, err, tc.want)
		}
	}
}

func TestParseKnownHostKey(t *testing.T) {
	const pub = "AAAAC3NzaC1lZDI1NTE5AAAAIGl2mqlF8yGeeIIuyx5XhVq1mNlrIQ6m4B2uOZ0E0pXb"
	for _, s := range []string{
		"ssh-ed25519 " + pub,
		"ssh-ed25519 " + pub + " root@target",
		"target.example ssh-ed25519 " + pub,
		"[10.0.0.9]:2222 ssh-ed25519 " + pub,
		"  ssh-ed25519 " + pub + "\n",
	} {
		k, err := parseKnownHostKey(s)
		if err != nil || k.key == nil || !strings.HasPrefix(k.fingerprint, "SHA256:") {
			t.Errorf("%q: %+v, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "SHA256:abc", "ssh-ed25519", "ssh-ed25519 " + pub + "\nssh-ed25519 " + pub, "MD5:aa:bb", "@revoked * ssh-ed25519 " + pub, "@cert-authority * ssh-ed25519 " + pub} {
		if _, err := parseKnownHostKey(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzParseKnownHostKey(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGl2mqlF8yGeeIIuyx5XhVq1mNlrIQ6m4B2uOZ0E0pXb")
	f.Add("[h]:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGl2mqlF8yGeeIIuyx5XhVq1mNlrIQ6m4B2uOZ0E0pXb")
	f.Add("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
	f.Add("@revoked * ssh-rsa AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := parseKnownHostKey(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(k.fingerprint, "SHA256:") || len(k.fingerprint) != 50 {
			t.Fatalf("%q gave fingerprint %q", s, k.fingerprint)
		}
		if k.key != nil && len(k.algorithms()) == 0 {
			t.Fatalf("%q: a key without host key algorithms", s)
		}
	})
}
