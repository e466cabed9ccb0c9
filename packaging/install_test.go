//go:build package

// The package installed on this machine, as a site would install it:
// make package-test (root; it runs dpkg and leaves the package purged).
package packaging

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestInstalledPackage installs KUZET_DEB, checks what it put where, runs
// kuzet check as the service's user, starts the service (systemd, or the
// unit's ExecStart as its user against a notify socket where systemd does
// not run), asks its API, stops it and purges the package.
func TestInstalledPackage(t *testing.T) {
	deb := os.Getenv("KUZET_DEB")
	if deb == "" || os.Geteuid() != 0 {
		t.Fatal("run as root through make package-test (KUZET_DEB names the package)")
	}
	sh(t, "apt-get", "install", "-y", "--no-install-recommends", deb)
	t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", "kuzet").Run() })
	for _, p := range []string{"/usr/bin/kuzet", "/lib/systemd/system/kuzet.service", "/etc/kuzet/node.yaml",
		"/usr/lib/kuzet/anpr/libonnxruntime.so.1", "/usr/lib/kuzet/anpr/ch_PP-OCRv4_rec_infer.onnx", "/usr/share/doc/kuzet/README.md"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("installed: %v", err)
		}
	}
	sh(t, "getent", "passwd", "kuzet")
	if out := sh(t, "runuser", "-u", "kuzet", "--", "/usr/bin/kuzet", "check", "-c", "/etc/kuzet/node.yaml"); !strings.Contains(out, "ok   configuration") {
		t.Fatalf("kuzet check: %s", out)
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		sh(t, "systemctl", "restart", "kuzet")
		waitHealthy(t)
		if out := sh(t, "systemctl", "show", "-p", "ActiveState,Type,User", "kuzet"); !strings.Contains(out, "ActiveState=active") {
			t.Fatalf("the service: %s", out)
		}
		sh(t, "systemctl", "stop", "kuzet")
		return
	}
	// no systemd: the unit's ExecStart as its user, a notify socket here
	// a directory the service's user can reach (a test's own is private)
	dir, err := os.MkdirTemp("", "kuzet-notify-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "notify")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_ = os.Chmod(sock, 0o777)
	var execStart []string
	f, _ := os.Open("/lib/systemd/system/kuzet.service")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	f.Close()
	u, err := user.Lookup("kuzet")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd := exec.Command(execStart[0], execStart[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Env = []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=2000000", "PATH=/usr/bin:/bin"}
	cmd.Dir = "/var/lib/kuzet"
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	buf := make([]byte, 256)
	_ = ln.SetReadDeadline(time.Now().Add(60 * time.Second))
	n, err := ln.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "READY=1") {
		t.Fatalf("the node did not say it was ready: %q %v\n%s", buf[:n], err, logs.String())
	}
	waitHealthy(t)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the node stopped with %v", err)
	}
}

func waitHealthy(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get("http://127.0.0.1:8080/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the installed node does not answer on 127.0.0.1:8080: %v", err)
		}
	}
}
