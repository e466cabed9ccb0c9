package sftpd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// LoadOrCreateHostKey reads the server's host key from path, or, when the
// file does not exist, generates an ed25519 key and stores it there (mode
// 0600, written to a temporary file, synced and renamed, so a crash never
// leaves half a key). created tells which happened. An unreadable existing
// file is an error and is left untouched: replacing it would change the
// server's identity under every client that pinned it.
func LoadOrCreateHostKey(path string) (signer ssh.Signer, created bool, err error) {
	if path == "" {
		return nil, false, errors.New("host key path is not set")
	}
	b, err := os.ReadFile(path)
	if err == nil {
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, false, fmt.Errorf("read host key %s: %w (remove the file only to give the server a new identity)", path, err)
		}
		return s, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read host key %s: %w", path, err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "kuzet sftp host key")
	if err != nil {
		return nil, false, fmt.Errorf("encode host key: %w", err)
	}
	if err := writeFileDurable(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, false, fmt.Errorf("store host key %s: %w", path, err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, false, fmt.Errorf("host key signer: %w", err)
	}
	return s, true, nil
}

// writeFileDurable creates path with data; it fails if path appeared in
// the meantime rather than replacing it.
func writeFileDurable(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the link below this only drops the temporary name
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// a hard link, unlike rename, never replaces a key created concurrently
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
