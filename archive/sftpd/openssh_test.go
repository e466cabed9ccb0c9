package sftpd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// sftpRun runs the OpenSSH sftp client in batch mode against addr and
// returns its combined output.
func sftpRun(t *testing.T, addr net.Addr, user string, auth []string, batch string, extra ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	bf := filepath.Join(dir, "batch")
	if err := os.WriteFile(bf, []byte(batch), 0o600); err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(addr.(*net.TCPAddr).Port)
	args := append([]string{}, auth...)
	// -b turns BatchMode on, which forbids password prompts; an earlier
	// -o wins in ssh, so this keeps them for sshpass to answer
	args = append(args, "sftp", "-o", "BatchMode=no", "-b", bf,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=20", "-o", "NumberOfPasswordPrompts=1", "-P", port)
	args = append(args, extra...)
	args = append(args, user+"@127.0.0.1")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func password(pw string) []string { return []string{"sshpass", "-p", pw} }

var passwordOnly = []string{"-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// treeDigest lists every entry under root with its type, size and content
// hash, to show nothing changed.
func treeDigest(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d", p, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			b.WriteString(" " + fileSHA(t, p))
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			b.WriteString(" -> " + l)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// CGR-5: the OpenSSH client logs in with a password or a key, lists and
// downloads segments byte for byte; wrong passwords, foreign source
// addresses, escapes from the archive and every write are refused.
func TestOpenSSHClient(t *testing.T) {
	testkit.Long(t)
	needTools(t, "sftp", "sshpass")
	dir := t.TempDir()
	root, segs := recordSegments(t, dir, 4*time.Second, 10*time.Second)
	seg := segs[0]

	// something outside the archive to try to reach
	outside := filepath.Join(dir, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("not for sftp clients\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	camDir := filepath.Join(root, "Camera1")
	links := map[string]string{
		"escape.mp4":   "../../outside/secret.txt", // relative, climbs out
		"absolute.mp4": secret,                     // absolute, outside
		"outdir":       outside,                    // a directory outside
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(camDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// a symlink that stays inside is served
	rel, _ := filepath.Rel(camDir, filepath.Join(root, filepath.FromSlash(seg.Path)))
	if err := os.Symlink(rel, filepath.Join(camDir, "latest.mp4")); err != nil {
		t.Fatal(err)
	}

	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	keyFile, authorized, _ := clientKey(t, dir, "operator_key")
	var logs logBuffer
	var trail auditTrail
	s := startServer(t, Options{
		Root: root, Logger: logs.Logger(), Audit: trail.record,
		Accounts: []Account{{Name: "operator", PasswordHash: hash, AuthorizedKeys: []string{authorized}, Allow: []string{"127.0.0.1/32"}}},
	})
	addr := s.Addr()
	before := treeDigest(t, root)

	t.Run("password login, list and download", func(t *testing.T) {
		dirPath := seg.Path[:strings.LastIndex(seg.Path, "/")]
		out, err := sftpRun(t, addr, "operator", password("correct horse"),
			fmt.Sprintf("ls -l /%s\nget /%s got.mp4\nget Camera1/latest.mp4 latest.mp4\n", dirPath, seg.Path), passwordOnly...)
		if err != nil {
			t.Fatalf("sftp: %v\n%s", err, out)
		}
		for _, sg := range segs {
			if !strings.Contains(out, sg.Path[strings.LastIndex(sg.Path, "/")+1:]) {
				t.Errorf("listing lacks %s:\n%s", sg.Path, out)
			}
		}
		want := fileSHA(t, filepath.Join(root, filepath.FromSlash(seg.Path)))
		if want != seg.SHA256 {
			t.Fatalf("archive file sha256 %s, index %s", want, seg.SHA256)
		}
		// the batch ran in a temporary directory printed by nothing; find the files by the log
		waitRecord(t, &logs, "sftp file sent", map[string]any{"path": "/" + seg.Path, "account": "operator", "bytes": float64(seg.Bytes)})
		waitRecord(t, &logs, "sftp login", map[string]any{"account": "operator", "method": "password"})
		waitRecord(t, &logs, "sftp connection closed", map[string]any{"account": "operator"})
		// and in the audit chain: the session, each file with its bytes,
		// and the session's end
		trail.wait(t, AuditEntry{User: "sftp:operator", Action: ActionLogin, Detail: "method password", Source: "127.0.0.1"})
		trail.wait(t, AuditEntry{User: "sftp:operator", Action: ActionDownload, Object: "/" + seg.Path,
			Detail: fmt.Sprintf("%d bytes sent of %d", seg.Bytes, seg.Bytes), Source: "127.0.0.1"})
		trail.wait(t, AuditEntry{User: "sftp:operator", Action: ActionLogout, Source: "127.0.0.1"})
	})

	t.Run("downloads are byte-identical", func(t *testing.T) {
		local := t.TempDir()
		out, err := sftpRun(t, addr, "operator", password("correct horse"),
			fmt.Sprintf("get /%s %s\nget Camera1/latest.mp4 %s\n", seg.Path, filepath.Join(local, "a.mp4"), filepath.Join(local, "b.mp4")), passwordOnly...)
		if err != nil {
			t.Fatalf("sftp: %v\n%s", err, out)
		}
		for _, f := range []string{"a.mp4", "b.mp4"} {
			if got := fileSHA(t, filepath.Join(local, f)); got != seg.SHA256 {
				t.Errorf("%s: sha256 %s, archive %s", f, got, seg.SHA256)
			}
		}
	})

	t.Run("public key login", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "k.mp4")
		out, err := sftpRun(t, addr, "operator", nil, fmt.Sprintf("get /%s %s\n", seg.Path, local),
			"-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no", "-o", "PreferredAuthentications=publickey")
		if err != nil {
			t.Fatalf("sftp: %v\n%s", err, out)
		}
		if got := fileSHA(t, local); got != seg.SHA256 {
			t.Errorf("sha256 %s, archive %s", got, seg.SHA256)
		}
		waitRecord(t, &logs, "sftp login", map[string]any{"account": "operator", "method": "publickey"})
		trail.wait(t, AuditEntry{User: "sftp:operator", Action: ActionLogin, Source: "127.0.0.1"})
	})

	t.Run("wrong password refused", func(t *testing.T) {
		out, err := sftpRun(t, addr, "operator", password("wrong horse"), "ls /\n", passwordOnly...)
		if err == nil {
			t.Fatalf("logged in with a wrong password:\n%s", out)
		}
		waitRecord(t, &logs, "sftp login failed", map[string]any{"account": "operator", "reason": reasonPassword, "method": "password"})
		trail.wait(t, AuditEntry{User: "sftp:operator", Action: ActionLoginFailed, Detail: reasonPassword, Source: "127.0.0.1"})
	})

	t.Run("unknown account refused", func(t *testing.T) {
		out, err := sftpRun(t, addr, "intruder", password("correct horse"), "ls /\n", passwordOnly...)
		if err == nil {
			t.Fatalf("logged in as an unknown account:\n%s", out)
		}
		waitRecord(t, &logs, "sftp login failed", map[string]any{"account": "intruder", "reason": reasonUnknownAccount})
	})

	t.Run("source address outside the allow-list refused", func(t *testing.T) {
		out, err := sftpRun(t, addr, "operator", password("correct horse"), "ls /\n",
			append([]string{"-o", "BindAddress=127.0.0.2"}, passwordOnly...)...)
		if err == nil {
			t.Fatalf("logged in from 127.0.0.2:\n%s", out)
		}
		// no account may log in from there: refused at accept, before
		// any handshake
		r := waitRecord(t, &logs, "sftp connection refused: no account may log in from this address", nil)
		if remote, _ := r["remote"].(string); !strings.HasPrefix(remote, "127.0.0.2:") {
			t.Errorf("refusal logged from %q, want 127.0.0.2", remote)
		}
		if strings.Contains(out, "password:") {
			t.Errorf("the client got as far as a password prompt:\n%s", out)
		}
		// the key does not get in from there either
		out, err = sftpRun(t, addr, "operator", nil, "ls /\n", "-o", "BindAddress=127.0.0.2",
			"-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no")
		if err == nil {
			t.Fatalf("key login from 127.0.0.2:\n%s", out)
		}
	})

	t.Run("escapes refused", func(t *testing.T) {
		attempts := map[string]string{
			"dotdot":           "get ../outside/secret.txt got\n",
			"dotdot deep":      "get /Camera1/../../../../../../" + strings.TrimPrefix(secret, "/") + " got\n",
			"cd above root":    "cd ../../..\nget outside/secret.txt got\n",
			"absolute path":    "get " + secret + " got\n",
			"relative symlink": "get Camera1/escape.mp4 got\n",
			"absolute symlink": "get Camera1/absolute.mp4 got\n",
			"symlinked dir":    "get Camera1/outdir/secret.txt got\n",
			"cd symlinked":     "cd Camera1/outdir\nls\n",
		}
		for name, batch := range attempts {
			out, err := sftpRun(t, addr, "operator", password("correct horse"), batch, passwordOnly...)
			if err == nil {
				t.Errorf("%s: sftp succeeded:\n%s", name, out)
			}
			if strings.Contains(out, "not for sftp clients") {
				t.Errorf("%s: secret leaked:\n%s", name, out)
			}
		}
		// the client shows the link's own name, never what lies behind it
		out, _ := sftpRun(t, addr, "operator", password("correct horse"), "ls -l Camera1/outdir/\nls -l Camera1\n", passwordOnly...)
		if strings.Contains(out, "secret.txt") {
			t.Errorf("listing shows the outside directory:\n%s", out)
		}
		// the symlink refusals name the reason on the server
		waitRecord(t, &logs, "sftp stat refused", map[string]any{"path": "/Camera1/escape.mp4"})
		waitRecord(t, &logs, "sftp stat refused", map[string]any{"path": "/Camera1/outdir"})
	})

	t.Run("writes refused", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "upload.mp4")
		if err := os.WriteFile(local, []byte("upload"), 0o644); err != nil {
			t.Fatal(err)
		}
		// '-' lets the batch go on after a failed command
		batch := strings.Join([]string{
			"-put " + local + " /Camera1/new.mp4",
			"-put " + local + " /" + seg.Path,
			"-rm /" + seg.Path,
			"-rename /" + seg.Path + " /moved.mp4",
			"-mkdir /newdir",
			"-rmdir /Camera1",
			"-chmod 777 /" + seg.Path,
			"-ln -s /" + seg.Path + " /link.mp4",
			"-ln /" + seg.Path + " /hard.mp4",
			"ls /",
		}, "\n") + "\n"
		out, err := sftpRun(t, addr, "operator", password("correct horse"), batch, passwordOnly...)
		if err != nil {
			t.Fatalf("sftp: %v\n%s", err, out)
		}
		if n := strings.Count(strings.ToLower(out), "permission denied"); n < 6 {
			t.Errorf("%d permission denied answers, want one per change:\n%s", n, out)
		}
		if after := treeDigest(t, root); after != before {
			t.Errorf("archive changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		waitRecord(t, &logs, "sftp write refused", map[string]any{"path": "/Camera1/new.mp4"})
		waitRecord(t, &logs, "sftp change refused", map[string]any{"op": "Remove", "path": "/" + seg.Path})
	})

	if after := treeDigest(t, root); after != before {
		t.Errorf("archive changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if len(logs.Records("sftp connection")) == 0 {
		t.Error("connections are not logged")
	}
}
