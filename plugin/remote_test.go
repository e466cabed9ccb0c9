package plugin

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
)

// remotePKI is a federation CA with the node "site", and a client of any
// certificate it issues.
type remotePKI struct {
	dir   string
	roots *x509.CertPool
	ident *pki.Identity
}

func newRemotePKI(t *testing.T) *remotePKI {
	t.Helper()
	dir := t.TempDir()
	if err := pki.InitCA(dir, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"site", "other-site"} {
		if _, err := pki.IssueNode(dir, id, dir, time.Time{}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	ident, err := pki.LoadIdentity(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "site.pem"), filepath.Join(dir, "site-key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	return &remotePKI{dir: dir, roots: roots, ident: ident}
}

// client presents the certificate in <id>.pem over HTTP/2, checking that
// the node is "site" as a plugin does.
func (p *remotePKI) client(t *testing.T, id string) *http.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(p.dir, id+".pem"), filepath.Join(p.dir, id+"-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.roots, Certificates: []tls.Certificate{cert}, ServerName: "site",
		MinVersion: tls.VersionTLS13}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// A remote plugin connects with a certificate naming this node and it:
// it is that plugin, whatever it claims, and nothing else gets in (another
// node's plugin, a node's own certificate, a plugin the node does not
// run, a revoked certificate). Away for the silence, it raises
// plugin_failed, cleared when it connects again.
func TestRemotePlugin(t *testing.T) {
	p := newRemotePKI(t)
	for _, c := range [][2]string{{"site", "gpu"}, {"site", "ghost"}, {"other-site", "gpu"}} {
		if _, err := pki.IssuePlugin(p.dir, c[0], c[1], p.dir, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	spec := idle("gpu", "Camera1")
	spec.Remote = true
	r := newRig(t, "idle", []Spec{spec}, func(o *Options) {
		o.Listen, o.TLS, o.Identify, o.Silence = "127.0.0.1:0", p.ident.PluginTLS(nil), p.ident.PluginName, 400*time.Millisecond
	})
	testkit.WaitFor(t, 5*time.Second, "the remote plugins' listener", func() bool { return r.m.Addr() != nil })
	base := "https://" + r.m.Addr().String()
	if st := r.status("gpu"); !st.Remote || (st.State != "waiting" && st.State != "failed") {
		t.Fatalf("status before it connects %+v", st)
	}
	testkit.WaitFor(t, 5*time.Second, "plugin_failed for a plugin that never came", func() bool {
		return len(r.kinds(t, event.KindAlarmRaised)) == 1
	})

	gpu := p.client(t, "site.gpu")
	resp, err := gpu.Get(base + "/v1/hello")
	if err != nil {
		t.Fatal(err)
	}
	var h Hello
	_ = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || h.Name != "gpu" || h.Node != "site" {
		t.Fatalf("hello over %s: %+v", resp.Proto, h)
	}
	post := func(c *http.Client, body string) (int, string) {
		resp, err := c.Post(base+"/v1/events", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(gpu, `{"kind": "smoke", "camera": "Camera1", "severity": "info"}`); code != 202 || !strings.Contains(body, "plugin.gpu.smoke") {
		t.Fatalf("post: %d %s", code, body)
	}
	if code, body := post(gpu, `{"kind": "smoke", "camera": "Camera2"}`); code != 400 || !strings.Contains(body, "camera") {
		t.Fatalf("post on a camera not granted: %d %s", code, body)
	}
	// its frames, over the network
	fresp, err := gpu.Get(base + "/v1/frames?camera=Camera1")
	if err != nil || fresp.StatusCode != 200 {
		t.Fatalf("frames: %v %v", err, fresp)
	}
	fr := &frameReader{body: fresp.Body, br: bufio.NewReader(fresp.Body)}
	if fh, pix := fr.next(t); fh.Width != 160 || len(pix) != 160*90 {
		t.Fatalf("a remote frame %+v, %d bytes", fh, len(pix))
	}
	testkit.WaitFor(t, 5*time.Second, "connected, and the alarm cleared", func() bool {
		st := r.status("gpu")
		return st.State == "connected" && strings.HasPrefix(st.Address, "127.0.0.1:") && len(r.kinds(t, event.KindAlarmCleared)) == 1
	})

	// one plugin holds at most maxConns connections
	ok, refused := 0, 0
	var extra []*http.Client
	for range maxConns + 4 {
		c := p.client(t, "site.gpu")
		extra = append(extra, c)
		if resp, err := c.Get(base + "/v1/hello"); err == nil {
			resp.Body.Close()
			ok++
		} else {
			refused++
		}
	}
	for _, c := range extra {
		c.Transport.(*http.Transport).CloseIdleConnections()
	}
	if refused < 4 || ok > maxConns {
		t.Fatalf("%d more connections of one plugin: %d served, %d refused", maxConns+4, ok, refused)
	}

	// what else one certificate might try
	if code, body := post(p.client(t, "site.ghost"), `{"kind": "smoke"}`); code != 403 || !strings.Contains(body, "ghost is not a remote plugin") {
		t.Fatalf("a plugin this node does not run: %d %s", code, body)
	}
	for _, id := range []string{"other-site.gpu", "site", "other-site"} {
		if _, err := p.client(t, id).Get(base + "/v1/hello"); err == nil {
			t.Fatalf("%s's certificate got in", id)
		}
	}
	blob, _ := os.ReadFile(filepath.Join(p.dir, "site.gpu.pem"))
	serial := serialOf(t, blob)
	p.ident.SetRevoked([]string{serial})
	if _, err := p.client(t, "site.gpu").Get(base + "/v1/hello"); err == nil {
		t.Fatal("a revoked plugin certificate got in")
	}
	p.ident.SetRevoked(nil)
	if evs := r.kinds(t, "plugin."); len(evs) != 1 {
		t.Fatalf("%d plugin events stored, want the one", len(evs))
	}
	if err := r.m.Restart("gpu"); err == nil || !strings.Contains(err.Error(), "remote") {
		t.Fatalf("restart of a remote plugin: %v", err)
	}

	// gone: disconnected, then failed again
	fresp.Body.Close()
	gpu.Transport.(*http.Transport).CloseIdleConnections()
	testkit.WaitFor(t, 5*time.Second, "disconnected", func() bool { return r.status("gpu").State != "connected" })
	testkit.WaitFor(t, 5*time.Second, "plugin_failed again", func() bool { return len(r.kinds(t, event.KindAlarmRaised)) == 2 })
}

func serialOf(t *testing.T, pemBlob []byte) string {
	t.Helper()
	b, _ := pem.Decode(pemBlob)
	if b == nil {
		t.Fatal("no PEM block")
	}
	x, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return x.SerialNumber.Text(16)
}
