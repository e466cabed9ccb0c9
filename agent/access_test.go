package agent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/sftpd"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/testcam"
)

// The node serves its archive over SFTP as configured: OpenSSH's sftp
// client downloads a recorded segment byte-identical to the archive.
func TestNodeServesArchiveOverSFTP(t *testing.T) {
	for _, tool := range []string{"sftp", "sshpass"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install openssh-client sshpass)", tool)
		}
	}
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	hash, err := sftpd.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: site, data_dir: %s}
http: {listen: "127.0.0.1:0"}
archive: {segment: 2s}
cameras: [{id: Camera1, url: %q}]
sftp:
  listen: "127.0.0.1:0"
  accounts: [{name: auditor, password_hash: %q, allow: [127.0.0.1]}]
`, dir, src.URL("cam1"), hash))
	var rel string
	for deadline := time.Now().Add(30 * time.Second); rel == ""; time.Sleep(200 * time.Millisecond) {
		if segs, _ := a.Archive().Index().Segments("Camera1", time.Time{}, time.Time{}); len(segs) > 0 {
			rel = segs[0].Path
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing recorded")
		}
	}
	_, port, _ := strings.Cut(a.SFTPAddr(), ":")
	out := filepath.Join(t.TempDir(), "got.mp4")
	batch := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(batch, []byte(fmt.Sprintf("get /%s %s\n", rel, out)), 0o600); err != nil {
		t.Fatal(err)
	}
	// an -o before -b keeps password prompts on for sshpass to answer
	cmd := exec.Command("sshpass", "-p", "correct horse", "sftp", "-o", "BatchMode=no", "-b", batch, "-P", port,
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "PubkeyAuthentication=no", "auditor@127.0.0.1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sftp: %v\n%s", err, b)
	}
	if got, want := mediatest.SHA256(t, out), mediatest.SHA256(t, filepath.Join(dir, "archive", rel)); got != want {
		t.Fatalf("downloaded %s, archive holds %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "sftp_host_ed25519")); err != nil {
		t.Fatalf("host key not kept in the data dir: %v", err)
	}
}
