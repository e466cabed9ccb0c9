package sftpd

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// BenchmarkDownload measures reading a 40 MB file (about one 5-minute
// segment at 1 Mbit/s) from the server with pipelined requests, as
// OpenSSH's sftp and most clients issue them, over loopback.
func BenchmarkDownload(b *testing.B) {
	dir := b.TempDir()
	buf := make([]byte, 40<<20)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "seg.mp4"), buf, 0o644); err != nil {
		b.Fatal(err)
	}
	_, _, signer := clientKey(b, dir, "k")
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	s := startServer(b, Options{Root: dir, Accounts: []Account{{Name: "viewer", AuthorizedKeys: []string{authorized}}}})
	c, err := ssh.Dial("tcp", s.Addr().String(), &ssh.ClientConfig{User: "viewer",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(s.HostKey())})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	sc, err := sftp.NewClient(c, sftp.UseConcurrentReads(true))
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		f, err := sc.Open("/seg.mp4")
		if err != nil {
			b.Fatal(err)
		}
		n, err := f.WriteTo(io.Discard)
		f.Close()
		if err != nil || n != int64(len(buf)) {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}
