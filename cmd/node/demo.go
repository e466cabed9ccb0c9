package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/testcam"
)

const demoConfig = `node:
  id: demo-site
  data_dir: %[1]s
http:
  listen: %[2]s
archive:
  root: %[1]s/archive
  segment: %[4]s
cameras:
  - id: Camera1
    url: %[3]s/cam1
    transport: tcp
  - id: Camera2
    url: %[3]s/cam2
    transport: udp
`

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "data directory (default: a new temporary directory)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "HTTP API address")
	rtspAddr := fs.String("rtsp", "127.0.0.1:8554", "synthetic camera address")
	segment := fs.String("segment", "1m", "archive segment length (production default 5m)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "kuzet-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	log := newLogger(config.Log{Format: "text", Level: "info"}, stderr)
	cam, err := testcam.Start(testcam.Options{Listen: *rtspAddr, Cameras: 2, Logger: log.With("component", "testcam")})
	if err != nil {
		return fmt.Errorf("start synthetic camera: %w", err)
	}
	defer cam.Close()

	yaml := fmt.Sprintf(demoConfig, abs, *httpAddr, "rtsp://"+cam.Addr(), *segment)
	if err := os.WriteFile(filepath.Join(abs, "node.yaml"), []byte(yaml), 0o644); err != nil {
		return err
	}
	cfg, err := config.Parse([]byte(yaml), config.Options{})
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	a, err := agent.New(cfg, log, agent.Options{Version: version})
	if err != nil {
		return err
	}
	base := "http://" + a.HTTPAddr()
	fmt.Fprintf(stdout, `
Kuzet demo running (Ctrl-C to stop)
  synthetic camera  %[1]s/cam1  %[1]s/cam2
  configuration     %[2]s/node.yaml
  archive           %[2]s/archive   (Camera/Year/Month/Day/Hour/File.mp4, %[4]s segments)
  cameras           %[3]s/api/v1/cameras
  segments          %[3]s/api/v1/cameras/Camera1/segments
  gaps              %[3]s/api/v1/cameras/Camera1/gaps
  events            %[3]s/api/v1/events
  metrics           %[3]s/metrics

`, cam.URL("")[:len(cam.URL(""))-1], abs, base, *segment)
	return a.Run(ctx)
}
