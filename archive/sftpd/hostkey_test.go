package sftpd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHostKeyCreatedOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "sftp_host_ed25519")
	s1, created, err := LoadOrCreateHostKey(path)
	if err != nil || !created {
		t.Fatalf("first load: created=%v err=%v", created, err)
	}
	if s1.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Errorf("host key type %s, want ed25519", s1.PublicKey().Type())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", st.Mode().Perm())
	}
	s2, created, err := LoadOrCreateHostKey(path)
	if err != nil || created {
		t.Fatalf("second load: created=%v err=%v", created, err)
	}
	if !bytes.Equal(s1.PublicKey().Marshal(), s2.PublicKey().Marshal()) {
		t.Error("the host key changed between starts")
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("key directory holds %d entries, want only the key", len(ents))
	}
	// OpenSSH reads the stored key too
	if p, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command(p, "-y", "-f", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -y: %v\n%s", err, out)
		}
		pk, _, _, _, err := ssh.ParseAuthorizedKey(out)
		if err != nil || !bytes.Equal(pk.Marshal(), s1.PublicKey().Marshal()) {
			t.Errorf("ssh-keygen derives another public key: %s (%v)", out, err)
		}
	}
}

func TestCorruptHostKeyIsNotReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host")
	junk := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----\n")
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadOrCreateHostKey(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("corrupt host key: err = %v, want one naming the file", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, junk) {
		t.Error("the corrupt key file was changed")
	}
	if _, _, err := LoadOrCreateHostKey(""); err == nil {
		t.Error("empty host key path accepted")
	}
}
