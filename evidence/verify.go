package evidence

import (
	"archive/zip"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/kuzet/kuzet/pki"
)

// Report is what a check found.
type Report struct {
	Manifest *Manifest
	// Signer describes who signed: "node centre-1 (certificate serial …,
	// chains to the CA)", or the bare key's fingerprint.
	Signer string
	// Problems lists everything wrong; an empty list means the package is
	// whole and its signature holds.
	Problems []string
}

// ErrNotIntact is wrapped by Verify's error when the package fails a check.
var ErrNotIntact = errors.New("the package does not verify")

// Verify checks a package: the manifest's signature by the key in
// signer.pem; with roots, that signer.pem is a certificate of the
// manifest's node that chains to them; and every video file present,
// of its size and sha256, with nothing unlisted beside them.
func Verify(r io.ReaderAt, size int64, roots *x509.CertPool) (*Report, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a zip package: %w", err)
	}
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := members[f.Name]; dup {
			return nil, fmt.Errorf("%w: %q appears twice in the zip", ErrNotIntact, f.Name)
		}
		members[f.Name] = f
	}
	read := func(name string, limit int64) ([]byte, error) {
		f, ok := members[name]
		if !ok {
			return nil, fmt.Errorf("%w: %s is missing", ErrNotIntact, name)
		}
		if f.UncompressedSize64 > uint64(limit) {
			return nil, fmt.Errorf("%w: %s is %d bytes", ErrNotIntact, name, f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer rc.Close()
		return io.ReadAll(io.LimitReader(rc, limit+1))
	}
	mb, err := read(ManifestName, maxManifest)
	if err != nil {
		return nil, err
	}
	sig, err := read(SignatureName, 1024)
	if err != nil {
		return nil, err
	}
	sp, err := read(SignerName, 64<<10)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotIntact, err)
	}
	rep := &Report{Manifest: m}
	bad := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }

	pub, who, err := signerKey(sp, m, roots)
	if err != nil {
		bad("signer: %v", err)
	} else {
		rep.Signer = who
		sum := sha256.Sum256(mb)
		if !ecdsa.VerifyASN1(pub, sum[:], sig) {
			bad("manifest.json does not match its signature: the manifest was altered, or signed by another key")
		}
	}

	listed := map[string]bool{ManifestName: true, SignatureName: true, SignerName: true, ReadmeName: true}
	for _, f := range m.Files {
		if f.Name == "" {
			continue
		}
		listed[f.Name] = true
		zf, ok := members[f.Name]
		if !ok {
			bad("%s is listed in the manifest but not in the package", f.Name)
			continue
		}
		n, sum, err := hashMember(zf)
		switch {
		case err != nil:
			bad("%s cannot be read: %v", f.Name, err)
		case n != f.Bytes:
			bad("%s holds %d bytes, the manifest says %d", f.Name, n, f.Bytes)
		case sum != f.SHA256:
			bad("%s has sha256 %s, the manifest says %s: it was altered", f.Name, sum, f.SHA256)
		}
	}
	var extra []string
	for name := range members {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		bad("%s is in the package but not in the manifest: it was added", name)
	}
	if len(rep.Problems) > 0 {
		return rep, fmt.Errorf("%w: %d problems", ErrNotIntact, len(rep.Problems))
	}
	return rep, nil
}

// signerKey reads signer.pem and checks it against the manifest and, for
// a certificate, against roots when given.
func signerKey(b []byte, m *Manifest, roots *x509.CertPool) (*ecdsa.PublicKey, string, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, "", errors.New("signer.pem holds no PEM block")
	}
	var pub any
	var cert *x509.Certificate
	switch {
	case blk.Type == "CERTIFICATE" && m.Signer == "certificate":
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, "", err
		}
		cert, pub = c, c.PublicKey
	case blk.Type == "PUBLIC KEY" && m.Signer == "key":
		p, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, "", err
		}
		pub = p
	default:
		return nil, "", fmt.Errorf("signer.pem holds a %s, the manifest says %s", blk.Type, m.Signer)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, "", fmt.Errorf("signer key is %T, not ECDSA", pub)
	}
	fp, err := Fingerprint(ec)
	if err != nil {
		return nil, "", err
	}
	if fp != m.Fingerprint {
		return nil, "", fmt.Errorf("signer key fingerprint %s, the manifest names %s", fp, m.Fingerprint)
	}
	if cert == nil {
		if roots != nil {
			return nil, "", fmt.Errorf("signed by a bare key (fingerprint %s) that no CA vouches for", fp)
		}
		return ec, "a key no CA vouches for, fingerprint " + fp, nil
	}
	id, err := pki.NodeIDOf(cert)
	if err != nil {
		return nil, "", err
	}
	if id != m.Node {
		return nil, "", fmt.Errorf("the certificate names node %q, the manifest %q", id, m.Node)
	}
	who := fmt.Sprintf("node %s (certificate serial %x, valid %s to %s)", id, cert.SerialNumber,
		cert.NotBefore.UTC().Format(time.DateOnly), cert.NotAfter.UTC().Format(time.DateOnly))
	if roots == nil {
		return ec, who + ", not checked against a CA (give --ca)", nil
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: m.Created,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, "", fmt.Errorf("the certificate of %s does not chain to the CA at the export's time: %w", id, err)
	}
	return ec, who + ", chains to the CA", nil
}

func hashMember(f *zip.File) (int64, string, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, "", err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return n, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
