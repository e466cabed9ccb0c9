package topology

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Camera passwords are secrets: the catalogue keeps them, sends them to
// the site that pulls the camera, and shows them to nobody (see
// Camera.Redacted). On disk they are sealed with the node's own key: the
// Raft log and snapshots of a replica, and the slice a node caches.
// Replicas exchange records in clear inside their mutually authenticated
// TLS links and seal what they store with their own key, so no key is
// shared or distributed, and a copy of one node's files is of no use
// without that node's key (docs/topology.md, "Secrets").

// KeyFile is the node key's file name in DATA_DIR.
const KeyFile = "secret.key"

// SecretKey seals data at rest with AES-256-GCM. Sealed data is
// sealMagic, the key's ID (4 bytes of SHA-256 of the key, to say which key
// sealed it), a random 12-byte nonce, then the ciphertext and tag. Each
// sealing names its purpose (authenticated, not stored), so that sealed
// data of one kind cannot pass for another.
type SecretKey struct {
	aead cipher.AEAD
	id   [4]byte
	path string
}

// sealMagic starts sealed data. JSON, which everything sealed is in
// clear, never starts with it.
var sealMagic = []byte("KZS1")

const keyBytes = 32

// IsSealed reports whether b is sealed data (of any key).
func IsSealed(b []byte) bool { return bytes.HasPrefix(b, sealMagic) }

// LoadOrCreateKey reads the node key at path, creating it (mode 0600,
// from the system's random source) when there is none. The file holds the
// key in hex. A key others can read is refused: it would unseal
// everything it protects.
func LoadOrCreateKey(path string) (*SecretKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("node key %s is readable by others (mode %v): run chmod 600 %s", path, perm, path)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != keyBytes {
		return nil, fmt.Errorf("node key %s: want %d bytes in hex; restore the node's key (without it, what it sealed is lost)", path, keyBytes)
	}
	k, err := NewSecretKey(raw)
	if err != nil {
		return nil, err
	}
	k.path = path
	return k, nil
}

// createKey writes a new key without ever replacing one: two starts at
// once end up with the same key.
func createKey(path string) error {
	raw := make([]byte, keyBytes)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("node key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(hex.EncodeToString(raw) + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("node key %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("node key %s: %w", path, err)
	}
	return syncDirOf(path)
}

func syncDirOf(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// NewSecretKey makes a key of 32 raw bytes (tests; nodes use
// LoadOrCreateKey).
func NewSecretKey(raw []byte) (*SecretKey, error) {
	if len(raw) != keyBytes {
		return nil, fmt.Errorf("node key: want %d bytes, got %d", keyBytes, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &SecretKey{aead: aead}
	sum := sha256.Sum256(raw)
	copy(k.id[:], sum[:])
	return k, nil
}

// Seal encrypts plain for purpose.
func (k *SecretKey) Seal(plain []byte, purpose string) []byte {
	n := k.aead.NonceSize()
	out := make([]byte, len(sealMagic)+len(k.id)+n, len(sealMagic)+len(k.id)+n+len(plain)+k.aead.Overhead())
	copy(out, sealMagic)
	copy(out[len(sealMagic):], k.id[:])
	nonce := out[len(sealMagic)+len(k.id):]
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("node key: no randomness: %v", err)) // crypto/rand never fails on Linux
	}
	return k.aead.Seal(out, nonce, plain, []byte(purpose))
}

// Open decrypts what Seal made for purpose; data that is not sealed is
// an error (callers that read older, clear data check IsSealed first).
func (k *SecretKey) Open(sealed []byte, purpose string) ([]byte, error) {
	head := len(sealMagic) + len(k.id) + k.aead.NonceSize()
	if !IsSealed(sealed) || len(sealed) < head+k.aead.Overhead() {
		return nil, errors.New("not sealed data")
	}
	if id := sealed[len(sealMagic) : len(sealMagic)+len(k.id)]; !bytes.Equal(id, k.id[:]) {
		return nil, fmt.Errorf("sealed with another node key (%x, this node's is %x%s): the key file was replaced or the data comes from another node",
			id, k.id, k.where())
	}
	plain, err := k.aead.Open(nil, sealed[len(sealMagic)+len(k.id):head], sealed[head:], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("sealed %s data does not authenticate: corrupt, or not %s data", purpose, purpose)
	}
	return plain, nil
}

func (k *SecretKey) where() string {
	if k.path == "" {
		return ""
	}
	return ", in " + k.path
}
