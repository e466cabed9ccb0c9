// Package s3test runs a real SeaweedFS (`weed server -s3`, built by
// `make weed` into .cache/seaweedfs) on loopback for tests of the
// archive's object storage, with one bucket and one identity.
package s3test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// The identity the server accepts.
const (
	AccessKey = "kuzet-test"
	SecretKey = "kuzet-test-secret"
)

// Server is one running SeaweedFS.
type Server struct {
	Endpoint string // host:port of the S3 gateway
	Dir      string
	cmd      *exec.Cmd
	done     chan struct{}
	log      *bytes.Buffer
	args     []string
}

// Binary finds the weed binary `make weed` built, or fails the test with
// how to build it.
func Binary(t testing.TB) string {
	t.Helper()
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("KUZET_WEED"); p != "" {
		return p
	}
	matches, _ := filepath.Glob(filepath.Join(root, ".cache", "seaweedfs", "weed-*"))
	for _, m := range matches {
		if filepath.Ext(m) != ".tmp" {
			return m
		}
	}
	t.Fatalf("SeaweedFS is not built: run `make weed` (it builds .cache/seaweedfs/weed-VERSION from the Go module), or set KUZET_WEED")
	return ""
}

// Start runs a SeaweedFS server in a temporary directory and waits until
// its S3 gateway answers; it is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{Dir: t.TempDir()}
	cfg := filepath.Join(s.Dir, "s3.json")
	ident := map[string]any{"identities": []any{map[string]any{
		"name":        "kuzet",
		"credentials": []any{map[string]string{"accessKey": AccessKey, "secretKey": SecretKey}},
		"actions":     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}}
	b, _ := json.Marshal(ident)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// ports from the test range: a port picked by listening on :0 lies in
	// the kernel's ephemeral range, where weed's own gRPC clients may take
	// it before its servers bind it
	port := func() string {
		_, p, _ := net.SplitHostPort(testkit.Port(t))
		return p
	}
	s3 := port()
	s.Endpoint = "127.0.0.1:" + s3
	data := filepath.Join(s.Dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	s.args = []string{"server", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + port(), "-master.port.grpc=" + port(), "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
		"-volume.port=" + port(), "-volume.port.grpc=" + port(), "-volume.max=16", "-volume.preStopSeconds=0",
		"-filer", "-filer.port=" + port(), "-filer.port.grpc=" + port(),
		"-s3", "-s3.port=" + s3, "-s3.port.grpc=" + port(), "-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.config=" + cfg, "-debug.port=" + port()}
	s.start(t, Binary(t))
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(t testing.TB, bin string) {
	t.Helper()
	s.log = &bytes.Buffer{}
	s.cmd = exec.Command(bin, s.args...)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start weed: %v", err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		// an unsigned request answers 403 once the gateway serves
		resp, err := http.Get("http://" + s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return
			}
		}
		select {
		case <-s.done:
			t.Fatalf("weed exited at start: %s", tail(s.log.Bytes()))
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			t.Fatalf("weed's S3 gateway did not answer within 60s: %s", tail(s.log.Bytes()))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Bucket creates a bucket (through the S3 API, as an operator would).
func (s *Server) Bucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := makeBucket(ctx, s.Endpoint, name); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Pause stops the server's processes (SIGSTOP): the endpoint accepts
// connections but answers nothing, as a hung store does. Resume ends it.
func (s *Server) Pause() error {
	pid := s.cmd.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGSTOP); err != nil {
		return err
	}
	// the signal is delivered as each thread next runs: wait until the
	// process shows as stopped
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return err
		}
		// pid (comm) state ...: the state follows the last ')'
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && b[i+2] == 'T' {
			return nil
		}
	}
	return errors.New("weed did not stop within 5 s of SIGSTOP")
}

// Resume continues a paused server.
func (s *Server) Resume() error { return syscall.Kill(-s.cmd.Process.Pid, syscall.SIGCONT) }

// Restart starts the server again on the same ports and data after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t, Binary(t))
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
