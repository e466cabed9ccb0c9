package sftpd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/auth"
)

// rawFrom opens a bare TCP connection to s from a loopback address and
// reports the first line the server sends ("" if it closes at once).
func rawFrom(t *testing.T, s *Server, from string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	_ = c.SetReadDeadline(time.Time{})
	return c, strings.TrimSpace(line)
}

// closedByServer reports whether the server has closed c.
func closedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

func archiveDir(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "archive")
	if err := os.MkdirAll(filepath.Join(root, "Camera1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "Camera1", "a.mp4"), []byte("segment bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func from(addr string) []string {
	return append([]string{"-o", "BindAddress=" + addr}, passwordOnly...)
}

// Connections that have not logged in take no session: idle ones from an
// address no account may use are closed at accept, those from an allowed
// address are bounded per address and in all (the oldest makes room), and
// the real user still logs in with max_sessions=1.
func TestIdleConnectionsTakeNoSession(t *testing.T) {
	needTools(t, "sftp", "sshpass")
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	s := startServer(t, Options{Root: archiveDir(t), Logger: logs.Logger(), MaxSessions: 1,
		MaxLoggingIn: 2, MaxLoggingInPerAddress: 2, LoginTimeout: time.Minute,
		Accounts: []Account{{Name: "operator", PasswordHash: hash, Allow: []string{"127.0.0.1", "127.0.0.3"}}}})

	// from an address no account may use: closed before the handshake
	for range 3 {
		c, line := rawFrom(t, s, "127.0.0.2")
		if line != "" || !closedByServer(c) {
			t.Fatalf("127.0.0.2 got %q and an open connection", line)
		}
	}
	waitRecord(t, &logs, "sftp connection refused: no account may log in from this address", nil)

	// from an allowed address: two may sit in the login, a third is refused
	var idle []net.Conn
	for range 2 {
		c, line := rawFrom(t, s, "127.0.0.3")
		if !strings.HasPrefix(line, "SSH-2.0-Kuzet") {
			t.Fatalf("idle connection from 127.0.0.3 got %q", line)
		}
		idle = append(idle, c)
	}
	if c, line := rawFrom(t, s, "127.0.0.3"); line != "" || !closedByServer(c) {
		t.Fatalf("a third connection logging in from 127.0.0.3 got %q", line)
	}
	waitRecord(t, &logs, "sftp connection refused: too many connections logging in from this address", nil)

	// the real user gets in: the oldest idle connection makes room, and
	// none of them held the one session
	out, err := sftpRun(t, s.Addr(), "operator", password("correct horse"), "get /Camera1/a.mp4 got.mp4\n", from("127.0.0.1")...)
	if err != nil {
		t.Fatalf("the real user was locked out by idle connections: %v\n%s", err, out)
	}
	if !closedByServer(idle[0]) {
		t.Error("the oldest idle connection was not dropped")
	}
	waitRecord(t, &logs, "sftp connection dropped before login: too many connections logging in; the oldest makes room", nil)
}

// Password guessing from one address is slowed and then locked there, the
// right password included, while the account still logs in from another
// address it may use; every failure is in the audit trail, and a lock
// only once.
func TestPasswordGuessingThrottled(t *testing.T) {
	needTools(t, "sftp", "sshpass")
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var trail auditTrail
	var logs logBuffer
	delay := 100 * time.Millisecond
	s := startServer(t, Options{Root: archiveDir(t), Logger: logs.Logger(), Audit: trail.record, FailDelay: delay,
		Throttle: auth.ThrottleOptions{UserFree: 5, SourceFree: 100, UserCeiling: 100, Base: time.Minute},
		Accounts: []Account{{Name: "operator", PasswordHash: hash, Allow: []string{"127.0.0.1", "127.0.0.2"}}}})

	var took []time.Duration
	start := time.Now()
	for i := range 12 {
		t0 := time.Now()
		out, err := sftpRun(t, s.Addr(), "operator", password(fmt.Sprintf("guess %d", i)), "ls /\n", from("127.0.0.2")...)
		took = append(took, time.Since(t0).Round(time.Millisecond))
		if err == nil {
			t.Fatalf("guess %d logged in:\n%s", i, out)
		}
	}
	t.Logf("12 wrong passwords from 127.0.0.2 in %v: %v", time.Since(start).Round(time.Millisecond), took)
	// each answer waits FailDelay, doubled per failure up to 8 times
	if took[3] < 8*delay || took[4] < 8*delay {
		t.Errorf("failures 4 and 5 took %v and %v; want at least %v each", took[3], took[4], 8*delay)
	}
	out, err := sftpRun(t, s.Addr(), "operator", password("correct horse"), "ls /\n", from("127.0.0.2")...)
	if err == nil {
		t.Fatalf("the right password got in from the locked address:\n%s", out)
	}
	if !strings.Contains(out, "too many failed logins for operator from 127.0.0.2") {
		t.Errorf("the client is not told why:\n%s", out)
	}
	// failures elsewhere do not lock the account out from its addresses
	if out, err := sftpRun(t, s.Addr(), "operator", password("correct horse"), "ls /\n", from("127.0.0.1")...); err != nil {
		t.Fatalf("locked out at 127.0.0.1 by failures from 127.0.0.2: %v\n%s", err, out)
	}
	if n := trail.count(AuditEntry{Action: ActionLoginFailed, Detail: reasonPassword, Source: "127.0.0.2"}); n != 5 {
		t.Errorf("%d wrong passwords audited, want 5 (the rest were refused unchecked)", n)
	}
	var throttled int
	for _, e := range trail.all() {
		if e.Action == ActionLoginFailed && strings.HasPrefix(e.Detail, "throttled") {
			throttled++
		}
	}
	if throttled != 1 {
		t.Errorf("%d throttled refusals audited, want 1 per lock: %+v", throttled, trail.all())
	}
	trail.wait(t, AuditEntry{User: "sftp:operator", Action: ActionLogin, Source: "127.0.0.1"})
}

// Guesses spread over many addresses lock the account at addresses it has
// not logged in from, never where it has.
func TestPasswordCeilingSparesKnownAddresses(t *testing.T) {
	needTools(t, "sftp", "sshpass")
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Options{Root: archiveDir(t), FailDelay: time.Millisecond,
		Throttle: auth.ThrottleOptions{UserFree: 2, SourceFree: 100, UserCeiling: 4, Base: time.Minute},
		Accounts: []Account{{Name: "operator", PasswordHash: hash, Allow: []string{"127.0.0.0/8"}}}})
	login := func(addr, pw string) error {
		out, err := sftpRun(t, s.Addr(), "operator", password(pw), "ls /\n", from(addr)...)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if err := login("127.0.0.1", "correct horse"); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.2", "127.0.0.3"} {
		for range 2 {
			if login(addr, "guess") == nil {
				t.Fatal("a guess got in")
			}
		}
	}
	if err := login("127.0.0.4", "correct horse"); err == nil || !strings.Contains(err.Error(), "from new addresses") {
		t.Fatalf("a new address during the attack: %v", err)
	}
	if err := login("127.0.0.1", "correct horse"); err != nil {
		t.Fatalf("the account's own address was locked: %v", err)
	}
}

// A login that the audit hook cannot record gets no session.
func TestLoginNotRecordedGetsNoSession(t *testing.T) {
	dir := t.TempDir()
	_, authorized, signer := clientKey(t, dir, "k")
	trail := &auditTrail{fail: errors.New("disk full")}
	s := startServer(t, Options{Root: archiveDir(t), Audit: trail.record,
		Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})
	c, err := dialKey(t, s, "viewer", signer)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if sess, err := c.NewSession(); err == nil || !strings.Contains(err.Error(), "audit log is unavailable") {
		if sess != nil {
			sess.Close()
		}
		t.Fatalf("session without an audit entry: %v", err)
	}
}

// An unknown account's password check costs what a real account's does,
// whatever hash the accounts use: the dummy takes their cost.
func TestUnknownAccountsTakeAsLongAsKnown(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("correct horse"), 11)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Options{Root: archiveDir(t), FailDelay: time.Millisecond,
		Throttle: auth.ThrottleOptions{UserFree: 100, SourceFree: 100, UserCeiling: 100},
		Accounts: []Account{{Name: "operator", PasswordHash: string(h)}, {Name: "auditor", PasswordHash: string(h)}}})
	if got, want := s.dummy.cost(), bcryptHash(h).cost(); got != want {
		t.Fatalf("dummy costs %s, accounts %s", got, want)
	}
	attempt := func(user string) time.Duration {
		start := time.Now()
		c, err := ssh.Dial("tcp", s.Addr().String(), &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password("wrong horse")},
			HostKeyCallback: ssh.FixedHostKey(s.HostKey()), Timeout: 20 * time.Second})
		if err == nil {
			c.Close()
			t.Fatalf("%s logged in with a wrong password", user)
		}
		return time.Since(start)
	}
	var known, unknown []time.Duration
	for range 5 {
		known = append(known, attempt("operator"))
		unknown = append(unknown, attempt("nobody"))
	}
	slices.Sort(known)
	slices.Sort(unknown)
	mk, mu := known[len(known)/2], unknown[len(unknown)/2]
	t.Logf("wrong password, known account: %v (median %v); unknown account: %v (median %v)", known, mk, unknown, mu)
	if r := float64(max(mk, mu)) / float64(min(mk, mu)); r > 2 {
		t.Errorf("median times differ by %.1fx", r)
	}
}
