package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive/sftpd"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/testcam"
)

// The node serves its archive over SFTP as configured: OpenSSH's sftp
// client downloads a recorded segment byte-identical to the archive.
func TestNodeServesArchiveOverSFTP(t *testing.T) {
	for _, tool := range []string{"sftp", "sshpass"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: apt-get install -y openssh-client sshpass", tool)
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
	// the session and the download are in the node's audit chain, which
	// goes up the tree with the other events
	want := map[string]string{
		sftpd.ActionLogin:    "method password",
		sftpd.ActionDownload: fmt.Sprintf("/%s %d bytes sent of", rel, fileSize(t, out)),
		sftpd.ActionLogout:   "1 files",
	}
	for deadline := time.Now().Add(20 * time.Second); len(want) > 0; time.Sleep(100 * time.Millisecond) {
		evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
		for _, e := range evs {
			var p audit.Payload
			if json.Unmarshal(e.Payload, &p) != nil || p.User != "sftp:auditor" || p.Source != "127.0.0.1" {
				continue
			}
			if w, ok := want[p.Action]; ok && strings.Contains(p.Object+" "+p.Detail, w) {
				delete(want, p.Action)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit chain lacks %v; has %d audit events", want, len(evs))
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
