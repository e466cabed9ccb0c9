package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Identity is a node's federation credentials and trust: its certificate,
// the federation CA, and the revoked certificate serials.
type Identity struct {
	NodeID string
	cert   tls.Certificate
	roots  *x509.CertPool
	now    func() time.Time

	mu      sync.RWMutex
	revoked map[string]bool // lower-case hex serials
}

// LoadIdentity reads PEM files and checks that the certificate names a
// node and chains to the CA.
func LoadIdentity(caFile, certFile, keyFile string, revoked []string) (*Identity, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("federation.tls.ca: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("federation.tls.ca: %s holds no PEM certificate", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("federation.tls.cert/key: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("federation.tls.cert: %w", err)
	}
	id, err := NodeIDOf(leaf)
	if err != nil {
		return nil, fmt.Errorf("federation.tls.cert: %w", err)
	}
	// the chain is checked at a time the certificate was valid: a node whose
	// certificate has expired still starts and records; only its links fail
	at := time.Now()
	if at.After(leaf.NotAfter) {
		at = leaf.NotAfter.Add(-time.Second)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("federation.tls.cert does not chain to federation.tls.ca: %w", err)
	}
	cert.Leaf = leaf
	ident := &Identity{NodeID: id, cert: cert, roots: roots, now: time.Now}
	ident.SetRevoked(revoked)
	return ident, nil
}

// NotAfter is when the node's own certificate expires.
func (i *Identity) NotAfter() time.Time { return i.cert.Leaf.NotAfter }

// SetRevoked replaces the revocation list (serials in hex).
func (i *Identity) SetRevoked(serials []string) {
	m := make(map[string]bool, len(serials))
	for _, s := range serials {
		m[strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(s, ":", ""), "0x"))] = true
	}
	i.mu.Lock()
	i.revoked = m
	i.mu.Unlock()
}

// PeerError says why a peer was refused.
type PeerError struct {
	Reason string
}

func (e *PeerError) Error() string { return "peer refused: " + e.Reason }

// verifyPeer checks a peer's chain against the federation CA, its validity
// period, revocation, and that it names a node.
func (i *Identity) verifyPeer(rawCerts [][]byte) (string, error) {
	leaf, err := i.verifyChain(rawCerts)
	if err != nil {
		return "", err
	}
	id, err := NodeIDOf(leaf)
	if err != nil {
		return "", &PeerError{err.Error()}
	}
	return id, nil
}

// verifyChain checks a presented chain against the federation CA, its
// validity period and revocation, and returns its leaf.
func (i *Identity) verifyChain(rawCerts [][]byte) (*x509.Certificate, error) {
	if len(rawCerts) == 0 {
		return nil, &PeerError{"no certificate presented"}
	}
	leaf, err := x509.ParseCertificate(rawCerts[0])
	if err != nil {
		return nil, &PeerError{"unparseable certificate: " + err.Error()}
	}
	inter := x509.NewCertPool()
	for _, raw := range rawCerts[1:] {
		if c, err := x509.ParseCertificate(raw); err == nil {
			inter.AddCert(c)
		}
	}
	now := i.now()
	if now.After(leaf.NotAfter) {
		return nil, &PeerError{fmt.Sprintf("certificate of %q expired at %s", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))}
	}
	if now.Before(leaf.NotBefore) {
		return nil, &PeerError{fmt.Sprintf("certificate of %q is not valid before %s", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))}
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots: i.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			return nil, &PeerError{fmt.Sprintf("certificate of %q is not signed by the federation CA", leaf.Subject.CommonName)}
		}
		return nil, &PeerError{"certificate does not verify: " + err.Error()}
	}
	i.mu.RLock()
	revoked := i.revoked[leaf.SerialNumber.Text(16)]
	i.mu.RUnlock()
	if revoked {
		return nil, &PeerError{fmt.Sprintf("certificate %s of %q is revoked", leaf.SerialNumber.Text(16), leaf.Subject.CommonName)}
	}
	return leaf, nil
}

// MutualTLS builds mutual TLS 1.3 between nodes for either side, speaking
// the protocol alpn names: the standard library's chain checks are replaced
// by verifyPeer, which also knows revocation and gives reasons an operator
// can act on. PeerNodeID names the verified peer.
func (i *Identity) MutualTLS(server bool, alpn string, log *slog.Logger) *tls.Config {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{i.cert},
		NextProtos:         []string{alpn},
		InsecureSkipVerify: true, // verified in VerifyPeerCertificate below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := i.verifyPeer(raw)
			if err != nil && log != nil {
				// the handshake fails before any connection exists to log it
				log.Warn("link refused during handshake", "reason", err.Error())
			}
			return err
		},
	}
	if server {
		cfg.ClientAuth = tls.RequireAnyClientCert
	}
	return cfg
}

// PeerNodeID returns the verified node ID of a finished handshake.
func (i *Identity) PeerNodeID(cs tls.ConnectionState) (string, error) {
	raw := make([][]byte, 0, len(cs.PeerCertificates))
	for _, c := range cs.PeerCertificates {
		raw = append(raw, c.Raw)
	}
	return i.verifyPeer(raw)
}

// Signer is the node's private key, for signing what the node vouches for
// (export packages), and certDER its certificate.
func (i *Identity) Signer() (key crypto.Signer, certDER []byte, ok bool) {
	key, ok = i.cert.PrivateKey.(crypto.Signer)
	return key, i.cert.Certificate[0], ok
}
