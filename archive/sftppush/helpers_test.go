package sftppush

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/logtest"
	"github.com/kuzet/kuzet/testcam"

	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// node is a site's archive and event log, recorded from the demo clip.
type node struct {
	dir  string
	log  *event.Log
	arch *archive.Archive
	clip *testcam.Clip
}

func newNode(t testing.TB) *node {
	t.Helper()
	dir := t.TempDir()
	ev, err := event.OpenLog(filepath.Join(dir, "events.db"), "site-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	a, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), IndexPath: filepath.Join(dir, "archive.db"),
		Segment: 8 * time.Second, Location: time.UTC, Events: ev})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	clip, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	return &node{dir: dir, log: ev, arch: a, clip: clip}
}

// record writes d of video starting at start; every closed segment emits
// segment.closed into the log.
func (n *node) record(t testing.TB, camera string, start time.Time, d time.Duration) {
	t.Helper()
	r := n.arch.NewRecorder(camera, media.Track{Codec: media.H264, SPS: n.clip.SPS, PPS: n.clip.PPS}, "test")
	for i := 0; i < int(d/(40*time.Millisecond)); i++ {
		fr := n.clip.Frames[i%len(n.clip.Frames)]
		u := &media.Unit{NALUs: fr.NALUs, PTS: int64(i) * 3600, Time: start.Add(time.Duration(i) * 40 * time.Millisecond)}
		if err := r.WriteUnit(u); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func (n *node) segments(t testing.TB) []archive.Segment {
	t.Helper()
	var out []archive.Segment
	for _, cam := range []string{"Camera1", "Camera2"} {
		s, err := n.arch.Index().Segments(cam, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s...)
	}
	return out
}

var t0 = time.Date(2025, 8, 18, 14, 4, 0, 0, time.UTC)

// sshd is OpenSSH's server on a loopback port, serving SFTP to one key.
type sshd struct {
	t       testing.TB
	dir     string
	port    int
	hostPub string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	stderr bytes.Buffer
}

func startSSHD(t testing.TB, authorizedKey string) *sshd {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		t.Fatal("OpenSSH server not installed: apt-get install -y openssh-server")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if u.Uid != "0" {
		t.Skip("sshd with privilege separation needs root")
	}
	// the privilege separation directory sshd insists on
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(authorizedKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile none
AuthorizedKeysFile %s
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers %s
Subsystem sftp internal-sftp
LogLevel VERBOSE
`, port, hostKey, filepath.Join(dir, "authorized_keys"), u.Username)
	if err := os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &sshd{t: t, dir: dir, port: port, hostPub: strings.TrimSpace(string(pub))}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *sshd) start() {
	s.t.Helper()
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(s.dir, "sshd_config"))
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.stderr}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			s.t.Fatalf("sshd exited: %s", s.logs())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("sshd not listening after 20 s: %s", s.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *sshd) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// kill stops sshd and the session processes it forked (they run in their
// own sessions, so they are found through their parent), like a crash of
// the target host's SSH service.
func (s *sshd) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	pid := cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGSTOP) // no new sessions while we look
	kids := descendants(pid)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		s.t.Error("sshd did not exit")
	}
}

func (s *sshd) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, err := strconv.Atoi(f[1])
		if err == nil {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// clientKey writes an ed25519 private key file and returns its
// authorized_keys line.
func clientKey(t testing.TB, dir string) (string, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "kuzet push")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "push_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// logBuffer collects JSON log records for assertions.
type logBuffer = logtest.Buffer

// running is a Pusher's Run in the background.
type running struct {
	p      *Pusher
	cancel context.CancelFunc
	done   chan error
}

func run(t testing.TB, o Options) *running {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends Run and closes the queue; it may be called more than once.
func (r *running) stop(t testing.TB) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("pusher run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pusher did not stop within 30 s")
	}
	if err := r.p.Close(); err != nil {
		t.Errorf("close pusher: %v", err)
	}
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// remoteFiles lists every file under root with its size.
func remoteFiles(t testing.TB, root string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // renamed while walking
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// midPart finds a .part on the target that is far enough into a file for
// a resume by offset (past the rewrite window) and not yet complete.
func midPart(t testing.TB, root string, segs []archive.Segment) bool {
	files := remoteFiles(t, root)
	for _, s := range segs {
		n, ok := files[s.Path+".part"]
		if ok && n > resumeWindow+64<<10 && n < s.Bytes-64<<10 {
			return true
		}
	}
	return false
}

// checkTarget compares the target with the archive: every segment present
// with the same sha256, nothing else (no .part, no duplicates).
func checkTarget(t testing.TB, root, archiveRoot string, segs []archive.Segment) {
	t.Helper()
	files := remoteFiles(t, root)
	want := map[string]bool{}
	for _, s := range segs {
		want[s.Path] = true
		got := filepath.Join(root, filepath.FromSlash(s.Path))
		if _, ok := files[s.Path]; !ok {
			t.Errorf("%s missing on the target", s.Path)
			continue
		}
		if sum := fileSHA(t, got); sum != s.SHA256 {
			t.Errorf("%s: sha256 on the target %s, archive %s", s.Path, sum, s.SHA256)
		}
		if sum := fileSHA(t, filepath.Join(archiveRoot, filepath.FromSlash(s.Path))); sum != s.SHA256 {
			t.Errorf("%s: archive file changed", s.Path)
		}
	}
	for p := range files {
		if !want[p] {
			t.Errorf("unexpected file on the target: %s", p)
		}
	}
}
