package agent

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/evidence"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/testkit"
)

// A centre packs two of a site's cameras it does not hold (pulled on
// demand) and a camera with nothing in the range, signed with its
// federation certificate: the package verifies against the CA as the
// centre's, every video plays, and the export is audited with its reason.
func TestExportPackageAtTheCentre(t *testing.T) {
	src, dir, tls := federationRig(t)
	centre, _ := startAgent(t, fmt.Sprintf(`
node: {id: centre, data_dir: %s/centre}
http: {listen: "127.0.0.1:0"}
federation: {listen: "127.0.0.1:0", heartbeat: 200ms, tls: %s, fragments: {policy: none}}
`, dir, tls("centre")))
	site, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s/site}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}, {id: Camera2, url: %q}]
federation: {upstream: [%q], heartbeat: 200ms, tls: %s}
`, dir, src.URL("cam1"), src.URL("cam1"), centre.FederationAddr(), tls("site")))
	testkit.WaitFor(t, 40*time.Second, "the site's segments known at the centre", func() bool {
		k1, _ := centre.fetchQ.Known("site", "Camera1", time.Time{}, time.Now().Add(time.Hour))
		k2, _ := centre.fetchQ.Known("site", "Camera2", time.Time{}, time.Now().Add(time.Hour))
		return len(k1) >= 3 && len(k2) >= 3
	})
	segs, _ := site.Archive().Index().Segments("Camera1", time.Time{}, time.Time{})
	from, to := segs[0].Start.Add(500*time.Millisecond), segs[2].End.Add(-500*time.Millisecond)
	body := fmt.Sprintf(`{"cameras": ["site/Camera1", "site/Camera2", "site/Camera7"], "from": %q, "to": %q, "reason": "truck 123ABC02 at the gate", "case": "KZ/2026-17"}`,
		from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	base := "http://" + centre.HTTPAddr() + "/api/v1/exports"
	resp, err := http.Post(base, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var job exportJob
	_ = json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") != "/api/v1/exports/"+job.ID {
		t.Fatalf("start: %d %+v", resp.StatusCode, job)
	}
	testkit.WaitFor(t, 60*time.Second, "the package", func() bool {
		r, err := http.Get(base + "/" + job.ID)
		if err != nil {
			return false
		}
		defer r.Body.Close()
		_ = json.NewDecoder(r.Body).Decode(&job)
		if job.State == "failed" {
			t.Fatalf("package failed: %+v", job)
		}
		return job.State == "done"
	})
	if job.Done != 3 || len(job.Missing) != 1 || !strings.HasPrefix(job.Missing[0], "site/Camera7: ") {
		t.Fatalf("job: %+v", job)
	}
	r, err := http.Get(base + "/" + job.ID + "/package.zip")
	if err != nil {
		t.Fatal(err)
	}
	pkg, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Disposition"), "KZ_2026-17") || int64(len(pkg)) != job.Size {
		t.Fatalf("download: %d %q, %d bytes of %d", r.StatusCode, r.Header.Get("Content-Disposition"), len(pkg), job.Size)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "pki", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	rep, err := evidence.Verify(bytes.NewReader(pkg), int64(len(pkg)), roots)
	if err != nil {
		t.Fatalf("verify: %v %v", err, rep)
	}
	m := rep.Manifest
	if m.Node != "centre" || !strings.Contains(rep.Signer, "node centre") || m.Reason != "truck 123ABC02 at the gate" ||
		len(m.Files) != 3 || m.Files[2].Camera != "site/Camera7" || m.Files[2].Missing == "" {
		t.Fatalf("manifest: %+v, signer %s", m, rep.Signer)
	}
	// each video is the camera's range: it plays, from about from
	out := t.TempDir()
	for _, f := range m.Files[:2] {
		if f.Start.Before(from.Add(-3*time.Second)) || f.Start.After(from.Add(time.Second)) || f.Bytes < 10000 {
			t.Errorf("%s: %+v", f.Name, f)
		}
		p := filepath.Join(out, filepath.Base(f.Name))
		if err := os.WriteFile(p, zipMember(t, pkg, f.Name), 0o644); err != nil {
			t.Fatal(err)
		}
		if pr := mediatest.Probe(t, p); pr.Codec != "h264" || pr.Frames < 50 {
			t.Errorf("%s: %+v", f.Name, pr)
		}
	}
	// the centre's audit log has the package with its reason and case
	found := false
	entries := auditEntries(t, centre, "archive.export")
	for _, e := range entries {
		found = found || strings.Contains(e.Detail, `reason "truck 123ABC02 at the gate"`) && strings.Contains(e.Detail, `case "KZ/2026-17"`)
	}
	if !found || len(entries) < 3 { // the package and each camera's export
		t.Errorf("archive.export entries: %+v", entries)
	}
	// the folder holds the package alone: the videos are in it
	left, _ := os.ReadDir(filepath.Join(dir, "centre", "exports", job.ID, "video"))
	if len(left) != 0 {
		t.Errorf("%d loose videos left beside the package", len(left))
	}
}

// zipMember reads one member of a zip.
func zipMember(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
