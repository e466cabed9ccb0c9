package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Certificates name their node in a URI SAN: kuzet://node/<id>.
const nodeURIScheme = "kuzet"

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// NodeURI is the SAN a node certificate carries.
func NodeURI(id string) *url.URL {
	return &url.URL{Scheme: nodeURIScheme, Host: "node", Path: "/" + id}
}

// NodeIDOf returns the node ID in a certificate's URI SAN.
func NodeIDOf(c *x509.Certificate) (string, error) {
	for _, u := range c.URIs {
		if u.Scheme == nodeURIScheme && u.Host == "node" && len(u.Path) > 1 {
			id := u.Path[1:]
			if nodeIDPattern.MatchString(id) {
				return id, nil
			}
		}
	}
	return "", fmt.Errorf("certificate %q carries no kuzet://node/ID name", c.Subject.CommonName)
}

// CA paths inside a PKI directory.
const (
	CACertFile = "ca.pem"
	CAKeyFile  = "ca-key.pem"
)

// InitCA creates a federation CA (ECDSA P-256) in dir. It refuses to
// overwrite an existing one: every node certificate depends on it.
func InitCA(dir, name string, validity time.Duration) error {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	if _, err := os.Stat(keyPath); err == nil {
		return fmt.Errorf("%s already exists; a new CA would orphan every issued certificate", keyPath)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Kuzet federation"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("sign CA: %w", err)
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

// Issued describes a new node certificate.
type Issued struct {
	CertPath, KeyPath string
	Serial            string // hex, as revocation lists name it
	NotAfter          time.Time
}

// IssueNode signs a certificate for node id with the CA in caDir and writes
// <id>.pem and <id>-key.pem into outDir. notBefore may be zero (now).
func IssueNode(caDir, id, outDir string, notBefore time.Time, validity time.Duration) (Issued, error) {
	if !nodeIDPattern.MatchString(id) {
		return Issued{}, fmt.Errorf("node id %q: use 1-64 letters, digits, '-' or '_'", id)
	}
	notAfter := notBefore.Add(validity)
	if notBefore.IsZero() {
		// an hour of slack for peers whose clocks run a little behind
		notBefore, notAfter = time.Now().Add(-time.Hour), time.Now().Add(validity)
	}
	return sign(caDir, id, outDir, &x509.Certificate{
		Subject:   pkix.Name{CommonName: id, Organization: []string{"Kuzet federation"}},
		URIs:      []*url.URL{NodeURI(id)},
		DNSNames:  []string{id},
		NotBefore: notBefore,
		NotAfter:  notAfter,
	})
}

// sign issues a leaf certificate from tmpl (names and validity; the
// serial, key and usages are set here) with the CA in caDir, and writes
// <id>.pem and <id>-key.pem into outDir.
func sign(caDir, id, outDir string, tmpl *x509.Certificate) (Issued, error) {
	caCert, caKey, err := loadCA(caDir)
	if err != nil {
		return Issued{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Issued{}, err
	}
	serial := randomSerial()
	tmpl.SerialNumber = serial
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return Issued{}, fmt.Errorf("sign certificate of %s: %w", id, err)
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return Issued{}, err
	}
	out := Issued{
		CertPath: filepath.Join(outDir, id+".pem"), KeyPath: filepath.Join(outDir, id+"-key.pem"),
		Serial: serial.Text(16), NotAfter: tmpl.NotAfter,
	}
	if err := writeKey(out.KeyPath, key); err != nil {
		return Issued{}, err
	}
	return out, writePEM(out.CertPath, "CERTIFICATE", der, 0o644)
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA certificate: %w (run 'kuzet pki init' first)", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("CA files are not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA key: %w", err)
	}
	return cert, key, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// IssueOperator signs a certificate for a navigation-seal exchange
// operator with the CA in caDir: its subject's common name is the
// operator ID, which partners know it by, and it names the hosts its
// exchange listens on. It writes <id>.pem and <id>-key.pem into outDir.
func IssueOperator(caDir, id string, hosts []string, outDir string, validity time.Duration) (Issued, error) {
	if !operatorIDPattern.MatchString(id) {
		return Issued{}, fmt.Errorf("operator id %q: use a member state's code, a dot and a name, e.g. KZ.KTZE", id)
	}
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: id, Organization: []string{"Navigation-seal operator"}},
		NotBefore: time.Now().Add(-time.Hour),
		NotAfter:  time.Now().Add(validity),
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return sign(caDir, id, outDir, tmpl)
}

var operatorIDPattern = regexp.MustCompile(`^[A-Z]{2}\.[A-Z0-9][A-Z0-9_-]{0,31}$`)
