package exchange

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// A partner is known by its certificate: its subject's common name is its
// operator ID, and the certificate chains to the CA configured for that
// partner and no other. A certificate one partner's CA issued in another
// partner's name is refused, as is any other CA's.

// identify returns the partner a certificate chain speaks for.
func (x *Exchange) identify(raw [][]byte, usage x509.ExtKeyUsage) (*Partner, error) {
	if len(raw) == 0 {
		return nil, errors.New("no certificate presented")
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, fmt.Errorf("unparseable certificate: %v", err)
	}
	p := x.partners[leaf.Subject.CommonName]
	if p == nil {
		return nil, fmt.Errorf("certificate of %q names no partner of %s", leaf.Subject.CommonName, x.opt.Operator)
	}
	inter := x509.NewCertPool()
	for _, r := range raw[1:] {
		if c, err := x509.ParseCertificate(r); err == nil {
			inter.AddCert(c)
		}
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		Roots: p.Roots, Intermediates: inter, // certificates live by the wall clock
		KeyUsages: []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		var ua x509.UnknownAuthorityError
		if errors.As(err, &ua) {
			return nil, fmt.Errorf("certificate of %q is not signed by the CA configured for %s", leaf.Subject.CommonName, p.ID)
		}
		return nil, fmt.Errorf("certificate of %q does not verify: %v", leaf.Subject.CommonName, err)
	}
	return p, nil
}

// serverTLS takes partners' connections: any certificate is asked for and
// identify decides (the standard check knows no per-partner CA).
func (x *Exchange) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{x.opt.Cert},
		ClientAuth:   tls.RequireAnyClientCert,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := x.identify(raw, x509.ExtKeyUsageClientAuth)
			if err != nil {
				x.refusals.Add(1)
				x.log.Warn("seal exchange: connection refused", "reason", err.Error())
			}
			return err
		},
	}
}

// clientTLS dials partner p: its server must present p's certificate.
func (x *Exchange) clientTLS(p *Partner) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		Certificates:       []tls.Certificate{x.opt.Cert},
		InsecureSkipVerify: true, // identify checks the chain against p's own CA and the name
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			got, err := x.identify(raw, x509.ExtKeyUsageServerAuth)
			if err != nil {
				return err
			}
			if got != p {
				return fmt.Errorf("the server at %s is %s, not %s", p.URL, got.ID, p.ID)
			}
			return nil
		},
	}
}

// LoadCertificate reads the operator's certificate and checks it names
// the operator: partners know it by that name.
func LoadCertificate(certFile, keyFile, operator string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return c, fmt.Errorf("seals.tls: %w", err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return c, fmt.Errorf("seals.tls.cert: %w", err)
	}
	if leaf.Subject.CommonName != operator {
		return c, fmt.Errorf("seals.tls.cert names %q, not the operator %s (kuzet pki operator --id %s)", leaf.Subject.CommonName, operator, operator)
	}
	if time.Now().After(leaf.NotAfter) {
		return c, fmt.Errorf("seals.tls.cert expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	c.Leaf = leaf
	return c, nil
}

// LoadRoots reads a partner's CA file.
func LoadRoots(file string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
