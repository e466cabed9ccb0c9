package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
)

// client is a browser-like API client: a cookie jar and the CSRF token.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

func (c *client) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) login(user, pw string) int {
	code, body := c.do("POST", "/api/v1/auth/login", fmt.Sprintf(`{"user": %q, "password": %q}`, user, pw))
	var r struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	c.csrf = r.CSRF
	return code
}

// UA-3.8, NVMS-6.4: with users configured every API route needs a login
// with a role, and what operators do lands in the audit chain.
func TestAPIRolesAndAudit(t *testing.T) {
	hash := func(pw string) string {
		p := auth.DefaultParams
		p.Memory, p.Time = 1024, 1 // cheap for tests
		h, err := auth.HashPasswordParams(pw, p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
users:
  - {name: vera, role: viewer, password_hash: %q}
  - {name: olga, role: operator, password_hash: %q}
  - {name: adam, role: admin, password_hash: %q}
`, dir, hash("viewer-pass"), hash("operator-pass"), hash("admin-pass")))
	base := "http://" + a.HTTPAddr()
	anon := newClient(t, base)
	if code, body := anon.do("GET", "/api/v1/cameras", ""); code != 401 {
		t.Fatalf("anonymous cameras: %d %s", code, body)
	}
	if code, _ := anon.do("GET", "/healthz", ""); code != 200 {
		t.Fatal("healthz needs no login")
	}
	if code := anon.login("vera", "wrong-pass"); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	viewer := newClient(t, base)
	if code := viewer.login("vera", "viewer-pass"); code != 200 {
		t.Fatalf("viewer login: %d", code)
	}
	if code, body := viewer.do("GET", "/api/v1/cameras", ""); code != 200 {
		t.Fatalf("viewer cameras: %d %s", code, body)
	}
	exp := "/api/v1/archive/export.mp4?camera=Camera1&from=2026-01-01T00:00:00Z&to=2026-01-01T00:01:00Z"
	if code, body := viewer.do("GET", exp, ""); code != 403 {
		t.Fatalf("viewer export: %d %s", code, body)
	}
	if code, _ := viewer.do("POST", "/api/v1/plates/site/1/correction", `{"plate": "1"}`); code != 403 {
		t.Fatalf("viewer correction: %d", code)
	}
	if code, _ := viewer.do("GET", "/api/v1/audit", ""); code != 403 {
		t.Fatalf("viewer audit log: %d", code)
	}
	op := newClient(t, base)
	if code := op.login("olga", "operator-pass"); code != 200 {
		t.Fatal("operator login")
	}
	// authorised; the range holds nothing, so the export says so
	if code, body := op.do("GET", exp, ""); code == 401 || code == 403 {
		t.Fatalf("operator export refused: %d %s", code, body)
	}
	csrf := op.csrf
	op.csrf = ""
	if code, _ := op.do("POST", "/api/v1/plates/site/1/correction", `{"plate": "1"}`); code != 403 {
		t.Fatalf("correction without the CSRF token: %d", code)
	}
	op.csrf = csrf
	admin := newClient(t, base)
	if code := admin.login("adam", "admin-pass"); code != 200 {
		t.Fatal("admin login")
	}
	code, body := admin.do("GET", "/api/v1/audit?limit=100", "")
	if code != 200 {
		t.Fatalf("audit log: %d %s", code, body)
	}
	for _, want := range []string{`"login.failed"`, `"archive.export"`, `"olga"`, `"vera"`} {
		if !strings.Contains(body, want) {
			t.Errorf("audit log lacks %s: %s", want, body)
		}
	}
	if code, body := admin.do("GET", "/api/v1/audit/verify", ""); code != 200 || !strings.Contains(body, `"ok": true`) && !strings.Contains(body, `"ok":true`) {
		t.Errorf("audit verify: %d %s", code, body)
	}
	if evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind }); len(evs) < 4 {
		t.Errorf("%d audit events in the log", len(evs))
	}
}

// get sends a GET with a Host header of its own ("" keeps the URL's).
func getHost(t *testing.T, c *http.Client, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Issue 14: audit entries are the admins'; the event feed shows them to
// an admin at a workstation and to nobody else, and its parameters are
// range-checked instead of wrapping around.
func TestSecurityEventFeedKeepsAuditForAdmins(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0", admin_from: [127.0.0.1]}
users:
  - {name: vera, role: viewer, password_hash: %q}
  - {name: adam, role: admin, password_hash: %q}
`, dir, cheapHash(t, "viewer-pass"), cheapHash(t, "admin-pass")))
	base := "http://" + a.HTTPAddr()
	viewer, admin := newClient(t, base), newClient(t, base)
	if viewer.login("vera", "viewer-pass") != 200 || admin.login("adam", "admin-pass") != 200 {
		t.Fatal("login")
	}
	if code := newClient(t, base).login("vera", "wrong-pass"); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	kinds := func(c *client, q string) map[string]int {
		t.Helper()
		code, body := c.do("GET", "/api/v1/events?limit=1000"+q, "")
		if code != 200 {
			t.Fatalf("events%s: %d %s", q, code, body)
		}
		var evs []event.Event
		if err := json.Unmarshal([]byte(body), &evs); err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, e := range evs {
			out[e.Kind]++
		}
		return out
	}
	if k := kinds(viewer, ""); k[audit.Kind] != 0 {
		t.Errorf("a viewer reads %d audit entries through the event feed", k[audit.Kind])
	}
	if k := kinds(admin, "&kind=audit"); k[audit.Kind] < 3 {
		t.Errorf("the admin reads %d audit entries (logins of both, a failed login)", k[audit.Kind])
	}
	if code, body := viewer.do("GET", "/api/v1/events?kind=audit", ""); code != 403 || !strings.Contains(body, "GET /api/v1/audit") {
		t.Errorf("viewer asking for audit entries: %d %s", code, body)
	}
	// an admin away from the workstations is no admin here either
	far := &client{t: t, base: base, http: &http.Client{Jar: admin.http.Jar, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}}
	if code, body := far.do("GET", "/api/v1/events?limit=1000", ""); code != 200 || strings.Contains(body, `"kind": "audit"`) {
		t.Errorf("admin from 127.0.0.2: %d, audit entries shown: %v", code, strings.Contains(body, `"kind": "audit"`))
	}
	for _, q := range []string{"after=18446744073709551615", "after=9223372036854775808", "after=-1"} {
		if code, body := viewer.do("GET", "/api/v1/events?"+q, ""); code != 400 || !strings.Contains(body, "after: ") {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
}

// Issue 14: an unknown user name takes as long to refuse as a known one's
// wrong password, with the users' hashes cheaper than the default (the
// decoy takes their cost). Figures are logged; only a generous ratio is
// asserted.
func TestSecurityLoginTimingDoesNotTellUsersApart(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0", login_throttle: {user_free: 1000, source_free: 1000}}
users:
  - {name: vera, role: viewer, password_hash: %q}
  - {name: olga, role: operator, password_hash: %q}
`, dir, cheapHash(t, "viewer-pass"), cheapHash(t, "operator-pass")))
	c := newClient(t, "http://"+a.HTTPAddr())
	timed := func(user string) time.Duration {
		start := time.Now()
		if code := c.login(user, "wrong-password"); code != 401 {
			t.Fatalf("%s: %d", user, code)
		}
		return time.Since(start)
	}
	timed("vera") // warm the connection
	var known, unknown []time.Duration
	for i := range 10 {
		known = append(known, timed([]string{"vera", "olga"}[i%2]))
		unknown = append(unknown, timed(fmt.Sprintf("nobody%d", i)))
	}
	slices.Sort(known)
	slices.Sort(unknown)
	mk, mu := known[len(known)/2], unknown[len(unknown)/2]
	t.Logf("wrong password of a known user: median %v, %v..%v; unknown user: median %v, %v..%v",
		mk, known[0], known[len(known)-1], mu, unknown[0], unknown[len(unknown)-1])
	if r := float64(max(mk, mu)) / float64(min(mk, mu)); r > 3 {
		t.Errorf("medians differ by %.1fx: user names can be told apart by timing", r)
	}
}

// Issue 14: a request whose Host header names another site is refused
// (DNS rebinding on a node without users); the node's own addresses,
// localhost, its TLS certificate's names and http.hosts are served.
func TestSecurityHostHeaderChecked(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
`, dir))
	base := "http://" + a.HTTPAddr()
	_, port, _ := net.SplitHostPort(a.HTTPAddr())
	for host, want := range map[string]int{
		"": 200, "localhost:" + port: 200, "127.0.0.1:" + port: 200,
		"evil.example:" + port: 421, "rebind.attacker.example": 421, "10.1.2.3:" + port: 421,
	} {
		code, body := getHost(t, http.DefaultClient, base+"/api/v1/cameras", host)
		if code != want {
			t.Errorf("Host %q: %d %s, want %d", host, code, body, want)
		}
		if code == 421 && !strings.Contains(body, "is not a name of this node: if clients reach it by that name, add it to http.hosts") {
			t.Errorf("Host %q: %s", host, body)
		}
	}

	// configured names, and a certificate's
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"site.kuzet.test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "http.pem"), filepath.Join(dir, "http-key.pem")
	_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	tlsNode, _ := startAgent(t, fmt.Sprintf(`
node: {id: site2, data_dir: %s}
http: {listen: "127.0.0.1:0", tls: {cert: %s, key: %s}}
`, filepath.Join(dir, "tls"), certFile, keyFile))
	pool := x509.NewCertPool()
	pool.AddCert(mustParse509(t, der))
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "site.kuzet.test"}}, Timeout: 10 * time.Second}
	for host, want := range map[string]int{"site.kuzet.test": 200, "evil.example": 421} {
		if code, body := getHost(t, tc, "https://"+tlsNode.HTTPAddr()+"/api/v1/cameras", host); code != want {
			t.Errorf("TLS node, Host %q: %d %s, want %d", host, code, body, want)
		}
	}
	named, _ := startAgent(t, fmt.Sprintf(`
node: {id: site3, data_dir: %s}
http: {listen: "127.0.0.1:0", hosts: [kuzet.example, 10.0.0.5]}
`, filepath.Join(dir, "named")))
	for host, want := range map[string]int{"kuzet.example": 200, "10.0.0.5:8080": 200, "localhost": 200, "evil.example": 421} {
		if code, body := getHost(t, http.DefaultClient, "http://"+named.HTTPAddr()+"/api/v1/cameras", host); code != want {
			t.Errorf("http.hosts node, Host %q: %d %s, want %d", host, code, body, want)
		}
	}
}

// Issue 14: a viewer searching plates in a loop adds one audit entry per
// window, not one per search; the coalesced entry says how many searches
// and which plates.
func TestSecurityPlateSearchAuditCoalesced(t *testing.T) {
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
users:
  - {name: vera, role: viewer, password_hash: %q}
`, dir, cheapHash(t, "viewer-pass")))
	a.searches.mu.Lock()
	a.searches.window = 500 * time.Millisecond
	a.searches.mu.Unlock()
	viewer := newClient(t, "http://"+a.HTTPAddr())
	if viewer.login("vera", "viewer-pass") != 200 {
		t.Fatal("login")
	}
	searches := func() []audit.Payload {
		evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
		var out []audit.Payload
		for _, e := range evs {
			var p audit.Payload
			if json.Unmarshal(e.Payload, &p) == nil && p.Action == audit.ActionSearchPlates {
				out = append(out, p)
			}
		}
		slices.SortFunc(out, func(a, b audit.Payload) int { return int(a.Seq) - int(b.Seq) })
		return out
	}
	filler := strings.Repeat("x", 8000) // an unknown parameter's worth of query
	for i := range 25 {
		if code, body := viewer.do("GET", fmt.Sprintf("/api/v1/plates?plate=%03dABC02&junk=%s", i, filler), ""); code != 200 {
			t.Fatalf("search: %d %s", code, body)
		}
	}
	if got := searches(); len(got) != 1 || got[0].Object != "000ABC02" || len(got[0].Detail) > 600 {
		t.Fatalf("after 25 searches: %d entries (want the first at once, with the query cut): %+v", len(got), got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(searches()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := searches()
	if len(got) != 2 || !strings.Contains(got[1].Detail, "24 more searches") || !strings.HasPrefix(got[1].Object, "001ABC02 002ABC02") ||
		!strings.HasSuffix(got[1].Object, "and 4 more plates") || got[1].User != "vera" {
		t.Fatalf("coalesced entry: %+v", got)
	}
	var size int
	evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
	for _, e := range evs {
		size += len(e.Payload)
	}
	t.Logf("25 searches: %d plate-search audit entries; audit payloads total %d bytes", len(got), size)
	// a quiet window ends; the next search is recorded at once
	time.Sleep(1200 * time.Millisecond)
	if code, _ := viewer.do("GET", "/api/v1/plates?plate=999ZZZ99", ""); code != 200 {
		t.Fatal("search")
	}
	if got := searches(); len(got) != 3 || got[2].Object != "999ZZZ99" {
		t.Fatalf("search after a quiet window: %+v", got)
	}
}
