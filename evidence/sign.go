package evidence

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Signer signs packages: the node's federation key with its certificate,
// or a key of the node's own with its public key alone.
type Signer struct {
	Key crypto.Signer
	// PEM is what verifies the signature: the certificate ("certificate")
	// or the public key ("key").
	PEM  []byte
	Kind string
}

// CertificateSigner signs with a federation key; certDER is its leaf.
func CertificateSigner(key crypto.Signer, certDER []byte) Signer {
	return Signer{Key: key, Kind: "certificate", PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})}
}

// KeySigner signs with a key that no CA vouches for.
func KeySigner(key *ecdsa.PrivateKey) (Signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return Signer{}, err
	}
	return Signer{Key: key, Kind: "key", PEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, nil
}

// Fingerprint is the hex sha256 of a public key's PKIX DER.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// sign signs the sha256 of b (ECDSA, ASN.1).
func (s Signer) sign(b []byte) ([]byte, error) {
	sum := sha256.Sum256(b)
	return s.Key.Sign(rand.Reader, sum[:], crypto.SHA256)
}

// LoadOrCreateKey reads the node's own export key (PEM, EC P-256), or
// makes one (0600) when the file does not exist yet.
func LoadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "EC PRIVATE KEY" {
			return nil, fmt.Errorf("export key %s: no EC PRIVATE KEY block", path)
		}
		key, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("export key %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("export key: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("export key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}
