package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/pki"
)

type fixture struct {
	dir     string
	signer  Signer
	roots   *x509.CertPool
	members []Member
	m       Manifest
}

func newFixture(t *testing.T, ca string) *fixture {
	t.Helper()
	dir := t.TempDir()
	caDir := filepath.Join(dir, ca)
	if err := pki.InitCA(caDir, ca, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := pki.IssueNode(caDir, "centre-1", caDir, time.Time{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(caDir, "centre-1.pem"), filepath.Join(caDir, "centre-1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(caDir, pki.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	fx := &fixture{dir: dir, roots: roots, signer: CertificateSigner(pair.PrivateKey.(*ecdsa.PrivateKey), pair.Certificate[0])}
	for i, cam := range []string{"site-a/Camera1", "site-a/Camera2"} {
		p := filepath.Join(dir, strings.ReplaceAll(cam, "/", "_")+".mp4")
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i + 1)}, 5000+i), 0o644); err != nil {
			t.Fatal(err)
		}
		fx.members = append(fx.members, Member{Path: p, File: File{Name: VideoDir + filepath.Base(p), Camera: cam}})
	}
	from := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	fx.m = Manifest{Node: "centre-1", Created: time.Now().UTC(), User: "alice", Role: "operator",
		Reason: "truck 123ABC02 at the gate", Case: "KZ-2025-0042", From: from, To: from.Add(10 * time.Minute),
		Files: []File{{Camera: "site-a/Camera3", Missing: "nothing recorded in the range"}}}
	return fx
}

func (fx *fixture) pack(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, fx.m, fx.members, fx.signer); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rezip rewrites a package member by member: edit returns the new name
// and data, or keep false to leave the member out.
func rezip(t *testing.T, pkg []byte, edit func(name string, b []byte) (string, []byte, bool), add map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		name, nb, keep := edit(f.Name, b)
		if !keep {
			continue
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		_, _ = w.Write(nb)
	}
	for name, b := range add {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		_, _ = w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func verify(pkg []byte, roots *x509.CertPool) (*Report, error) {
	return Verify(bytes.NewReader(pkg), int64(len(pkg)), roots)
}

// A package as made verifies, names its node, and lists every camera.
func TestPackageVerifies(t *testing.T) {
	fx := newFixture(t, "ca")
	pkg := fx.pack(t)
	rep, err := verify(pkg, fx.roots)
	if err != nil {
		t.Fatalf("%v: %v", err, rep.Problems)
	}
	m := rep.Manifest
	if !strings.Contains(rep.Signer, "node centre-1") || !strings.Contains(rep.Signer, "chains to the CA") {
		t.Errorf("signer: %s", rep.Signer)
	}
	if len(m.Files) != 3 || m.Files[0].Bytes != 5000 || m.Files[1].Bytes != 5001 || m.Files[2].Missing == "" || m.Case != "KZ-2025-0042" {
		t.Fatalf("manifest: %+v", m)
	}
	// without a CA the signature still holds, and the report says so
	rep, err = verify(pkg, nil)
	if err != nil || !strings.Contains(rep.Signer, "not checked against a CA") {
		t.Fatalf("without a CA: %v %s", err, rep.Signer)
	}
}

// Every change after the fact is found and named.
func TestAlteredPackagesAreCaught(t *testing.T) {
	fx := newFixture(t, "ca")
	pkg := fx.pack(t)
	video := fx.members[0].File.Name
	other := newFixture(t, "other-ca")
	for _, c := range []struct {
		name  string
		pkg   []byte
		roots *x509.CertPool
		want  string
	}{
		{"a video byte changed", rezip(t, pkg, func(n string, b []byte) (string, []byte, bool) {
			if n == video {
				b = append([]byte{}, b...)
				b[100] ^= 1
			}
			return n, b, true
		}, nil), fx.roots, "it was altered"},
		{"the reason rewritten", rezip(t, pkg, func(n string, b []byte) (string, []byte, bool) {
			if n == ManifestName {
				b = bytes.Replace(b, []byte("123ABC02"), []byte("999ZZZ99"), 1)
			}
			return n, b, true
		}, nil), fx.roots, "does not match its signature"},
		{"a video left out", rezip(t, pkg, func(n string, b []byte) (string, []byte, bool) { return n, b, n != video }, nil),
			fx.roots, "not in the package"},
		{"a video added", rezip(t, pkg, func(n string, b []byte) (string, []byte, bool) { return n, b, true },
			map[string][]byte{VideoDir + "planted.mp4": []byte("x")}), fx.roots, "it was added"},
		{"a video truncated", rezip(t, pkg, func(n string, b []byte) (string, []byte, bool) {
			if n == video {
				b = b[:10]
			}
			return n, b, true
		}, nil), fx.roots, "holds 10 bytes"},
		{"another federation's CA", pkg, other.roots, "does not chain to the CA"},
		{"the signer swapped", rezip(t, pkg, func(n string, b []byte) (string, []byte, bool) {
			if n == SignerName {
				b = other.signer.PEM
			}
			return n, b, true
		}, nil), nil, "fingerprint"},
	} {
		rep, err := verify(c.pkg, c.roots)
		if err == nil {
			t.Errorf("%s: verified", c.name)
			continue
		}
		if rep == nil || !strings.Contains(strings.Join(rep.Problems, "\n"), c.want) {
			t.Errorf("%s: %v, problems %v; want %q", c.name, err, rep, c.want)
		}
	}
}

// A node outside a federation signs with a key of its own: the package
// verifies by itself, but no CA can vouch for the node.
func TestBareKeySigner(t *testing.T) {
	fx := newFixture(t, "ca")
	key, err := LoadOrCreateKey(filepath.Join(fx.dir, "export-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateKey(filepath.Join(fx.dir, "export-key.pem"))
	if err != nil || !again.Equal(key) {
		t.Fatalf("the key is not kept: %v", err)
	}
	if st, _ := os.Stat(filepath.Join(fx.dir, "export-key.pem")); st.Mode().Perm() != 0o600 {
		t.Errorf("export key mode %v", st.Mode())
	}
	fx.signer, err = KeySigner(key)
	if err != nil {
		t.Fatal(err)
	}
	pkg := fx.pack(t)
	rep, err := verify(pkg, nil)
	if err != nil || !strings.Contains(rep.Signer, "no CA vouches") {
		t.Fatalf("bare key: %v %+v", err, rep)
	}
	if _, err := verify(pkg, fx.roots); err == nil {
		t.Fatal("a bare key passed as a node of the CA")
	}
}

// A certificate of one node cannot sign for another.
func TestManifestNamesTheCertificatesNode(t *testing.T) {
	fx := newFixture(t, "ca")
	fx.m.Node = "site-b"
	rep, err := verify(fx.pack(t), fx.roots)
	if err == nil || !strings.Contains(strings.Join(rep.Problems, "\n"), `names node "centre-1"`) {
		t.Fatalf("%v %+v", err, rep)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"kuzet-export/1","node":"n","created":"2025-08-18T14:00:00Z","user":"u","reason":"r","from":"2025-08-18T14:00:00Z","to":"2025-08-18T15:00:00Z","files":[{"name":"video/a.mp4","camera":"C","bytes":1,"sha256":"` + strings.Repeat("0", 64) + `"}],"signer":"key","fingerprint":"x"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, fl := range m.Files {
			if fl.Name != "" && !strings.HasPrefix(fl.Name, VideoDir) {
				t.Fatalf("file %q outside %s accepted", fl.Name, VideoDir)
			}
		}
	})
}

// The README's way to check without kuzet works: openssl verifies the
// manifest's signature with the key from signer.pem.
func TestOpenSSLVerifiesTheSignature(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl missing: apt-get install -y openssl")
	}
	fx := newFixture(t, "ca")
	pkg := fx.pack(t)
	dir := t.TempDir()
	rezip(t, pkg, func(n string, b []byte) (string, []byte, bool) {
		if !strings.HasPrefix(n, VideoDir) {
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return n, b, true
	}, nil)
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	pub, err := run("x509", "-in", SignerName, "-pubkey", "-noout")
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, pub)
	}
	if err := os.WriteFile(filepath.Join(dir, "pub.pem"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("dgst", "-sha256", "-verify", "pub.pem", "-signature", SignatureName, ManifestName); err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl dgst: %v\n%s", err, out)
	}
	// and refuses an altered manifest
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("dgst", "-sha256", "-verify", "pub.pem", "-signature", SignatureName, ManifestName); err == nil {
		t.Fatalf("openssl verified an altered manifest:\n%s", out)
	}
}
