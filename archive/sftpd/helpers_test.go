package sftpd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"github.com/kuzet/kuzet/internal/logtest"
	"github.com/kuzet/kuzet/testcam"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/media"
)

// recordSegments records total worth of the demo clip into a fresh archive
// under dir, cut every seg, and returns the archive root and its segments.
func recordSegments(t testing.TB, dir string, seg, total time.Duration) (string, []archive.Segment) {
	t.Helper()
	clip, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "archive")
	a, err := archive.Open(archive.Options{Root: root, IndexPath: filepath.Join(dir, "archive.db"),
		Segment: seg, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	start := time.Date(2025, 8, 18, 14, 4, 0, 0, time.UTC)
	r := a.NewRecorder("Camera1", media.Track{Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}, "test")
	for n := 0; n < int(total/(40*time.Millisecond)); n++ {
		fr := clip.Frames[n%len(clip.Frames)]
		u := &media.Unit{NALUs: fr.NALUs, PTS: int64(n) * 3600, Time: start.Add(time.Duration(n) * 40 * time.Millisecond)}
		if err := r.WriteUnit(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := a.Index().Segments("Camera1", start.Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) == 0 {
		t.Fatal("no segments recorded")
	}
	return root, segs
}

// logBuffer collects JSON log records for assertions.
type logBuffer = logtest.Buffer

// waitRecord waits for a record with msg whose attributes include want.
func waitRecord(t testing.TB, l *logBuffer, msg string, want map[string]any) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, r := range l.Records(msg) {
			ok := true
			for k, v := range want {
				if r[k] != v {
					ok = false
				}
			}
			if ok {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log record %q with %v; have %v", msg, want, l.Records(msg))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startServer runs a server until the test ends.
func startServer(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.HostKeyPath == "" {
		o.HostKeyPath = filepath.Join(t.TempDir(), "host_ed25519")
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
	})
	return s
}

// clientKey makes an ed25519 key pair: the private key file (OpenSSH
// format) and the authorized_keys line.
func clientKey(t testing.TB, dir, name string) (keyFile, authorized string, signer ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(dir, name)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err = ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return keyFile, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))), signer
}

func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: apt-get install -y openssh-client sshpass", tool)
		}
	}
}

// auditTrail collects what the server gives its audit hook.
type auditTrail struct {
	mu      sync.Mutex
	entries []AuditEntry
	fail    error // returned by record, when set
}

func (a *auditTrail) record(e AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.entries = append(a.entries, e)
	return nil
}

func (a *auditTrail) all() []AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]AuditEntry(nil), a.entries...)
}

// matches reports whether e has every non-empty field of want.
func (want AuditEntry) matches(e AuditEntry) bool {
	for _, f := range [][2]string{{want.User, e.User}, {want.Action, e.Action}, {want.Object, e.Object},
		{want.Detail, e.Detail}, {want.Source, e.Source}} {
		if f[0] != "" && f[0] != f[1] {
			return false
		}
	}
	return true
}

func (a *auditTrail) count(want AuditEntry) int {
	n := 0
	for _, e := range a.all() {
		if want.matches(e) {
			n++
		}
	}
	return n
}

// wait waits for an entry with every non-empty field of want.
func (a *auditTrail) wait(t testing.TB, want AuditEntry) AuditEntry {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, e := range a.all() {
			if want.matches(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry like %+v; have %+v", want, a.all())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitClosed waits for the server to close a client connection.
func waitClosed(c *ssh.Client) error {
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
		return nil
	case <-time.After(20 * time.Second):
		c.Close()
		return errors.New("the server did not close the connection")
	}
}
