package sftpd

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

func dialKey(t *testing.T, s *Server, user string, signer ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", s.Addr().String(), &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey()),
		Timeout:         20 * time.Second,
	})
}

func sftpClient(t *testing.T, s *Server, signer ssh.Signer) *sftp.Client {
	t.Helper()
	c, err := dialKey(t, s, "viewer", signer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	return sc
}

// Path confinement seen through a programmatic client: every way out is
// refused with a reason, links that stay inside work.
func TestPathsStayInsideTheArchive(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "archive")
	outside := filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(root, "Camera1", "2025"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seg := filepath.Join(root, "Camera1", "2025", "a.mp4")
	if err := os.WriteFile(seg, []byte("segment bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"Camera1/up.mp4":     "../../outside/secret",
		"Camera1/abs.mp4":    filepath.Join(outside, "secret"),
		"Camera1/out":        "../../outside",
		"Camera1/in.mp4":     "2025/a.mp4",
		"Camera1/indir":      "2025",
		"Camera1/dangling":   "../../outside/none",
		"Camera1/chain.mp4":  "in.mp4",
		"Camera1/2025/x.mp4": "../up.mp4", // inside link to a link that leaves
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	// absolute links are refused even when they point inside: the
	// archive may be moved or mounted elsewhere, and os.Root forbids them
	if err := os.Symlink(seg, filepath.Join(root, "Camera1", "absin.mp4")); err != nil {
		t.Fatal(err)
	}
	_, _, signer := clientKey(t, dir, "k")
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	s := startServer(t, Options{Root: root, Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})
	c := sftpClient(t, s, signer)

	read := func(p string) (string, error) {
		f, err := c.Open(p)
		if err != nil {
			return "", err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		return string(b), err
	}
	for _, p := range []string{"/Camera1/2025/a.mp4", "Camera1/in.mp4", "/Camera1/indir/a.mp4", "/Camera1/chain.mp4", "/../Camera1/2025/a.mp4"} {
		if got, err := read(p); err != nil || got != "segment bytes" {
			t.Errorf("read %s = %q, %v", p, got, err)
		}
	}
	for _, p := range []string{"/Camera1/up.mp4", "/Camera1/abs.mp4", "/Camera1/out/secret", "/Camera1/2025/x.mp4", "/Camera1/absin.mp4"} {
		got, err := read(p)
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("read %s = %q, %v; want permission denied", p, got, err)
		}
		if _, err := c.Stat(p); err == nil {
			t.Errorf("stat %s succeeded", p)
		}
	}
	for _, p := range []string{"/Camera1/dangling", "../outside/secret", filepath.Join(outside, "secret"), "/Camera1/../../outside/secret"} {
		if got, err := read(p); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("read %s = %q, %v; want not found", p, got, err)
		}
	}
	if _, err := c.ReadDir("/Camera1/out"); err == nil {
		t.Error("listing a directory outside through a symlink succeeded")
	}
	if ents, err := c.ReadDir("/Camera1/indir"); err != nil || len(ents) != 2 {
		t.Errorf("listing an inside symlinked directory: %d entries, %v", len(ents), err)
	}
	// Lstat shows the link itself; readlink only answers inside the archive
	if fi, err := c.Lstat("/Camera1/up.mp4"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("lstat of an escaping link: %v, %v", fi, err)
	}
	if target, err := c.ReadLink("/Camera1/in.mp4"); err != nil || target != "/Camera1/2025/a.mp4" {
		t.Errorf("readlink inside = %q, %v", target, err)
	}
	if target, err := c.ReadLink("/Camera1/up.mp4"); err == nil {
		t.Errorf("readlink of an escaping link answered %q", target)
	}
	if wd, err := c.RealPath("../../.."); err != nil || wd != "/" {
		t.Errorf("realpath above the root = %q, %v", wd, err)
	}
	// and no change goes through
	if f, err := c.Create("/new.mp4"); err == nil {
		f.Close()
		t.Error("create succeeded")
	}
	for name, op := range map[string]func() error{
		"remove":      func() error { return c.Remove("/Camera1/2025/a.mp4") },
		"rename":      func() error { return c.Rename("/Camera1/2025/a.mp4", "/b.mp4") },
		"posixrename": func() error { return c.PosixRename("/Camera1/2025/a.mp4", "/b.mp4") },
		"mkdir":       func() error { return c.Mkdir("/d") },
		"chmod":       func() error { return c.Chmod("/Camera1/2025/a.mp4", 0o777) },
		"truncate":    func() error { return c.Truncate("/Camera1/2025/a.mp4", 0) },
		"symlink":     func() error { return c.Symlink("/Camera1/2025/a.mp4", "/l.mp4") },
	} {
		if err := op(); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v, want permission denied", name, err)
		}
	}
	if b, _ := os.ReadFile(seg); string(b) != "segment bytes" {
		t.Error("the segment changed")
	}
}

// Shells, commands and port forwarding are refused; only SFTP is served.
func TestOnlySFTPIsServed(t *testing.T) {
	dir := t.TempDir()
	_, _, signer := clientKey(t, dir, "k")
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	s := startServer(t, Options{Root: dir, Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})
	c, err := dialKey(t, s, "viewer", signer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sess.CombinedOutput("id"); err == nil {
		t.Errorf("exec ran: %s", out)
	}
	sess2, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess2.Shell(); err == nil {
		t.Error("shell started")
	}
	if err := sess2.RequestSubsystem("netconf"); err == nil {
		t.Error("unknown subsystem accepted")
	}
	if _, err := c.Dial("tcp", s.Addr().String()); err == nil {
		t.Error("port forwarding accepted")
	}
	// channels on one connection are bounded
	var opened []*ssh.Session
	for range maxChannels + 2 {
		sess, err := c.NewSession()
		if err != nil {
			break
		}
		opened = append(opened, sess)
	}
	if len(opened) > maxChannels {
		t.Errorf("%d sessions opened on one connection, limit %d", len(opened), maxChannels)
	}
}

// At most MaxSessions connections are open at once; a silent one is closed
// after IdleTimeout, which frees its slot.
func TestSessionLimitAndIdleTimeout(t *testing.T) {
	dir := t.TempDir()
	_, _, signer := clientKey(t, dir, "k")
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	var logs logBuffer
	s := startServer(t, Options{Root: dir, MaxSessions: 1, IdleTimeout: time.Second, Logger: logs.Logger(),
		Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})

	c1, err := dialKey(t, s, "viewer", signer)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	// the first connection holds the slot once it has a session (its
	// login may finish at the client before the server counts it)
	s1, err := c1.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	// a second login succeeds, but gets no session, and is told why
	c2, err := dialKey(t, s, "viewer", signer)
	if err != nil {
		t.Fatal(err)
	}
	if sess, err := c2.NewSession(); err == nil {
		sess.Close()
		t.Fatal("a second session above max_sessions=1")
	} else if !strings.Contains(err.Error(), "session limit reached (1 sessions open)") {
		t.Fatalf("refusal %q does not say why", err)
	}
	if err := waitClosed(c2); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, &logs, "sftp connection refused: session limit reached", nil)

	closed := make(chan error, 1)
	go func() { closed <- c1.Wait() }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("idle connection still open after 30 s with idle_timeout=1s")
	}
	// the slot is free again; the server may still be closing the old one
	deadline := time.Now().Add(20 * time.Second)
	for {
		c3, err := dialKey(t, s, "viewer", signer)
		if err == nil {
			sess, serr := c3.NewSession()
			c3.Close()
			if serr == nil {
				sess.Close()
				break
			}
			err = serr
		}
		if time.Now().After(deadline) {
			t.Fatalf("no connection after the idle one closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A client that connects and never completes the handshake is dropped
// after LoginTimeout.
func TestLoginTimeout(t *testing.T) {
	dir := t.TempDir()
	_, authorized, _ := clientKey(t, dir, "k")
	s := startServer(t, Options{Root: dir, LoginTimeout: time.Second,
		Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	// the server sends its version line, then waits for ours: send nothing
	_, err = io.Copy(io.Discard, c)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

func TestOptionsCheckedWithClearErrors(t *testing.T) {
	dir := t.TempDir()
	_, key, _ := clientKey(t, dir, "k")
	good := func() Options {
		return Options{Listen: "127.0.0.1:0", Root: dir, HostKeyPath: filepath.Join(dir, "hk"),
			Accounts: []Account{{Name: "a", AuthorizedKeys: []string{key}}}}
	}
	for _, tc := range []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no accounts", func(o *Options) { o.Accounts = nil }, "no accounts"},
		{"bad name", func(o *Options) { o.Accounts[0].Name = "a b" }, `accounts[0].name "a b"`},
		{"duplicate", func(o *Options) { o.Accounts = append(o.Accounts, o.Accounts[0]) }, "given twice"},
		{"bad hash", func(o *Options) { o.Accounts[0].PasswordHash = "secret" }, "accounts[0] (a).password_hash"},
		{"bad key", func(o *Options) { o.Accounts[0].AuthorizedKeys = []string{"ssh-ed25519 AAAA"} }, "accounts[0] (a).keys[0]"},
		{"no credentials", func(o *Options) { o.Accounts[0].AuthorizedKeys = nil }, "neither a password hash nor a key"},
		{"bad allow", func(o *Options) { o.Accounts[0].Allow = []string{"10.0.0.0/33"} }, "accounts[0] (a).allow[0]"},
		{"bad allow addr", func(o *Options) { o.Accounts[0].Allow = []string{"localhost"} }, `"localhost" is not an address`},
		{"no root", func(o *Options) { o.Root = "" }, "archive root is not set"},
		{"missing root", func(o *Options) { o.Root = filepath.Join(dir, "nope") }, "nope"},
		{"no listen", func(o *Options) { o.Listen = "" }, "listen address"},
		{"bad listen", func(o *Options) { o.Listen = "127.0.0.1:99999" }, "listen on 127.0.0.1:99999"},
		{"sessions", func(o *Options) { o.MaxSessions = -1 }, "max_sessions"},
		{"idle", func(o *Options) { o.IdleTimeout = time.Millisecond }, "idle_timeout"},
		{"host key", func(o *Options) { o.HostKeyPath = "" }, "host key path"},
	} {
		o := good()
		tc.mod(&o)
		s, err := New(o)
		if err == nil {
			s.Close()
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to name %q", tc.name, err, tc.want)
		}
	}
	s, err := New(good())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

func FuzzRelPath(f *testing.F) {
	for _, s := range []string{"/", "..", "../../etc/passwd", "/a/../../b", "a\\..\\b", "/Camera1/./x.mp4", "//x", "a\x00b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := relPath(p)
		if err != nil {
			return
		}
		if r != "." && !filepath.IsLocal(r) {
			t.Fatalf("relPath(%q) = %q leaves the root", p, r)
		}
	})
}

func FuzzSubsystemName(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x04sftp"))
	f.Add([]byte("\xff\xff\xff\xffsftp"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		n := subsystemName(p)
		if len(n) > 64 || len(n) > len(p) {
			t.Fatalf("name %q longer than allowed", n)
		}
	})
}
