package restream

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
)

// auditLog keeps the entries a server records.
type auditLog struct {
	mu sync.Mutex
	e  []audit.Entry
}

func (l *auditLog) record(e audit.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.e = append(l.e, e)
	return nil
}

func (l *auditLog) find(action, user string) []audit.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []audit.Entry
	for _, e := range l.e {
		if e.Action == action && e.User == user {
			out = append(out, e)
		}
	}
	return out
}

var cheap = auth.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func testUser(t *testing.T, name, role, pw string, allow []string, disabled bool) auth.User {
	t.Helper()
	h, err := auth.HashPasswordParams(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	u, err := auth.NewUser(name, role, h, allow, disabled)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func testAccounts(t *testing.T, users ...auth.User) *Accounts {
	t.Helper()
	store, err := auth.NewMemStore(users...)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := NewAccounts(AccountsOptions{Users: store, DecoyParams: cheap,
		Throttle: auth.ThrottleOptions{UserFree: 3, SourceFree: 50, Base: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	return ac
}

// ffprobe reads url over TCP; it returns the codec, or the error output.
func ffprobe(t *testing.T, url string) (string, error) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name", "-of", "json", url).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, out)
	}
	var r struct {
		Streams []struct {
			Codec string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) != 1 {
		return string(out), fmt.Errorf("ffprobe: %s", out)
	}
	return r.Streams[0].Codec, nil
}

// With the node's users, readers log in as one of them: nobody reads
// anonymously, wrong passwords are refused and throttled, a viewer
// watches, rules on addresses hold, and each session is audited with who,
// what, where from, how long and how many bytes.
func TestReadersLogInAsUsers(t *testing.T) {
	needFFmpeg(t)
	log := &auditLog{}
	ac := testAccounts(t,
		testUser(t, "vera", "viewer", "viewer-pass", nil, false),
		testUser(t, "olga", "operator", "operator-pass", nil, false),
		testUser(t, "dora", "viewer", "disabled-pass", nil, true),
		testUser(t, "ivan", "viewer", "remote-pass", []string{"10.0.0.0/8"}, false))
	// the shared credential is ignored once there are accounts
	s := newServer(t, Options{Cameras: []string{"Camera1"}, Accounts: ac, User: "shared", Password: "shared-pass", Audit: log.record})
	startSite(t, s)
	addr := s.Addr()

	// a viewer watches; the session is audited when it ends
	if codec, err := ffprobe(t, "rtsp://vera:viewer-pass@"+addr+"/Camera1"); err != nil || codec != "h264" {
		t.Fatalf("viewer: %q %v", codec, err)
	}
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-rtsp_transport", "tcp",
		"-i", "rtsp://olga:operator-pass@"+addr+"/Camera1", "-t", "2", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg as operator: %v: %s", err, out)
	}
	var views []audit.Entry
	for deadline := time.Now().Add(5 * time.Second); len(views) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		views = log.find(audit.ActionViewLive, "olga")
	}
	if len(views) != 1 {
		t.Fatalf("operator's session audited %d times: %+v", len(views), log.e)
	}
	v := views[0]
	var sent int
	var took time.Duration
	if v.Object != "Camera1" || v.Role != "operator" || v.Source != "127.0.0.1" ||
		!strings.HasPrefix(v.Detail, "rtsp over TCP from ") {
		t.Errorf("session entry %+v", v)
	}
	if _, err := fmt.Sscanf(v.Detail[strings.Index(v.Detail, " for ")+5:], "%s %d bytes sent", new(string), &sent); err != nil || sent < 10000 {
		t.Errorf("session entry sent %d bytes: %q (%v)", sent, v.Detail, err)
	}
	if f := strings.Fields(v.Detail[strings.Index(v.Detail, " for ")+5:]); len(f) > 0 {
		took, _ = time.ParseDuration(strings.TrimSuffix(f[0], ","))
	}
	if took < 2*time.Second || took > 20*time.Second {
		t.Errorf("session of ffmpeg -t 2 lasted %v: %q", took, v.Detail)
	}
	t.Logf("session entry: %+v", v)

	for _, c := range []struct{ what, url, want string }{
		{"anonymous", "rtsp://" + addr + "/Camera1", "401"},
		{"the old shared credential", "rtsp://shared:shared-pass@" + addr + "/Camera1", "401"},
		{"unknown user", "rtsp://nobody:viewer-pass@" + addr + "/Camera1", "401"},
		{"disabled user", "rtsp://dora:disabled-pass@" + addr + "/Camera1", "403"},
		// the answer a wrong password gets: neither is confirmed
		{"user outside its addresses", "rtsp://ivan:remote-pass@" + addr + "/Camera1", "401"},
	} {
		if _, err := ffprobe(t, c.url); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s", c.what, err, c.want)
		}
	}

	// wrong passwords: refused, then the name is locked (3 free here)
	start := time.Now()
	for i := 1; i <= 4; i++ {
		want := "401"
		if i > 3 {
			want = "429"
		}
		if _, err := ffprobe(t, "rtsp://vera:guess"+fmt.Sprint(i)+"@"+addr+"/Camera1"); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("guess %d: %v, want %s", i, err, want)
		}
	}
	// locked: even the right password waits
	if _, err := ffprobe(t, "rtsp://vera:viewer-pass@"+addr+"/Camera1"); err == nil || !strings.Contains(err.Error(), "429") {
		t.Errorf("right password while locked: %v", err)
	}
	t.Logf("4 guesses and a locked login in %v", time.Since(start).Round(time.Millisecond))
	if f := log.find(audit.ActionLoginFailed, "vera"); len(f) != 4 || f[0].Detail != "rtsp: wrong password" ||
		!strings.Contains(f[3].Detail, "too many failed logins") {
		t.Errorf("failed logins audited: %+v", f)
	}
	if f := log.find(audit.ActionLoginFailed, "ivan"); len(f) != 1 || !strings.Contains(f[0].Detail, "may not log in from 127.0.0.1 (password not checked)") {
		t.Errorf("refused address audited: %+v", f)
	}
	if n := len(log.find(audit.ActionViewLive, "vera")); n != 1 {
		t.Errorf("viewer's probe audited %d times", n)
	}
}

// The addresses allowed to connect bind every reader, logged in or not.
func TestReadersOutsideAllowList(t *testing.T) {
	needFFmpeg(t)
	for _, o := range []Options{
		{Cameras: []string{"Camera1"}, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{Cameras: []string{"Camera1"}, Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			Accounts: testAccounts(t, testUser(t, "vera", "viewer", "viewer-pass", nil, false))},
	} {
		s := newServer(t, o)
		if _, err := ffprobe(t, "rtsp://vera:viewer-pass@"+s.Addr()+"/Camera1"); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("outside the allow-list (accounts %v): %v, want 403", o.Accounts != nil, err)
		}
	}
}

// With a certificate the re-stream is RTSPS: ffprobe reads it with a
// user's password inside TLS; plain RTSP gets nothing.
func TestRTSPS(t *testing.T) {
	needFFmpeg(t)
	s := newServer(t, Options{Cameras: []string{"Camera1"}, TLS: selfSigned(t), DisableUDP: true,
		Accounts: testAccounts(t, testUser(t, "vera", "viewer", "viewer-pass", nil, false))})
	startSite(t, s)
	if s.Scheme() != "rtsps" {
		t.Fatalf("scheme %s", s.Scheme())
	}
	// nobody watches unaudited: until the audit log is wired, 503
	if _, err := ffprobe(t, "rtsps://vera:viewer-pass@"+s.Addr()+"/Camera1"); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("before the audit log: %v", err)
	}
	log := &auditLog{}
	s.SetAudit(log.record)
	if codec, err := ffprobe(t, "rtsps://vera:viewer-pass@"+s.Addr()+"/Camera1"); err != nil || codec != "h264" {
		t.Fatalf("rtsps: %q %v", codec, err)
	}
	if _, err := ffprobe(t, "rtsps://"+s.Addr()+"/Camera1"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("anonymous over rtsps: %v", err)
	}
	c, err := net.DialTimeout("tcp", s.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(c, "DESCRIBE rtsp://%s/Camera1 RTSP/1.0\r\nCSeq: 1\r\n\r\n", s.Addr())
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	if strings.Contains(string(buf[:n]), "RTSP/1.0") {
		t.Errorf("plain RTSP answered on the RTSPS port: %q", buf[:n])
	}
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kuzet test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// A reader whose account is disabled while it plays is disconnected at
// the next check, and its session's entry says why.
func TestDisabledReaderDisconnected(t *testing.T) {
	vera := testUser(t, "vera", "viewer", "viewer-pass", nil, false)
	store, err := auth.NewMemStore(vera)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := NewAccounts(AccountsOptions{Users: store, DecoyParams: cheap})
	if err != nil {
		t.Fatal(err)
	}
	log := &auditLog{}
	s := newServer(t, Options{Cameras: []string{"Camera1"}, Accounts: ac, Audit: log.record, RecheckEvery: 100 * time.Millisecond})
	startSite(t, s)
	r := play(t, "rtsp://vera:viewer-pass@"+s.Addr()+"/Camera1")
	for deadline := time.Now().Add(5 * time.Second); r.count() < 5; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the viewer got no frames")
		}
	}
	vera.Disabled = true
	if err := store.Replace([]auth.User{vera}); err != nil {
		t.Fatal(err)
	}
	var views []audit.Entry
	for deadline := time.Now().Add(5 * time.Second); len(views) == 0; time.Sleep(50 * time.Millisecond) {
		if views = log.find(audit.ActionViewLive, "vera"); time.Now().After(deadline) {
			t.Fatal("the disabled viewer is still playing")
		}
	}
	if !strings.Contains(views[0].Detail, "disconnected: user vera is disabled") {
		t.Errorf("session entry %+v", views[0])
	}
	if n := s.Readers("Camera1"); n != 0 {
		t.Errorf("%d readers left", n)
	}
}
