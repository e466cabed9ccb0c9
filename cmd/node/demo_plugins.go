package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/pki"
)

// The demo's analytics plugins: the colorchange example on Camera1,
// started by the site, and the same program as a remote plugin on
// Camera2, started by the demo as another machine would run it.

const demoRemotePlugin = "colorchange-remote"

// demoPlugins is the site's plugins section, when the example is built.
func demoPlugins(bin, listen string) string {
	if bin == "" {
		return ""
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}
	return fmt.Sprintf(`plugins_listen: %q
plugins:
  - {name: colorchange, command: %q, args: ["-threshold", "25"], cameras: [Camera1],
     frames: {fps: 2, width: 320, height: 180, format: rgb24}}
  - {name: %s, remote: true, cameras: [Camera1], frames: {fps: 2, width: 320, height: 180, format: rgb24}}`, listen, bin, demoRemotePlugin)
}

// runDemoRemotePlugin runs the example as the remote plugin with a
// certificate of its own, again after each exit, until ctx ends.
func runDemoRemotePlugin(ctx context.Context, bin, pkiDir, addr string, log *slog.Logger) {
	cert := filepath.Join(pkiDir, "demo-site."+demoRemotePlugin+".pem")
	if _, err := os.Stat(cert); err != nil {
		if _, err := pki.IssuePlugin(pkiDir, "demo-site", demoRemotePlugin, pkiDir, 365*24*time.Hour); err != nil {
			log.Error("remote plugin's certificate", "err", err)
			return
		}
	}
	for ctx.Err() == nil {
		cmd := exec.Command(bin, "-threshold", "25")
		cmd.Env = []string{"KUZET_PLUGIN_ADDRESS=" + addr, "KUZET_PLUGIN_NODE=demo-site",
			"KUZET_PLUGIN_CA=" + filepath.Join(pkiDir, pki.CACertFile), "KUZET_PLUGIN_CERT=" + cert,
			"KUZET_PLUGIN_KEY=" + filepath.Join(pkiDir, "demo-site."+demoRemotePlugin+"-key.pem")}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			log.Error("start the remote plugin", "err", err)
			return
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
			return
		case err := <-done:
			log.Info("remote plugin exited; starting it again", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}
