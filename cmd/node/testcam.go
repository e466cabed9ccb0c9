package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/kuzet/kuzet/testcam"
)

func cmdTestcam(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("testcam", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8554", "RTSP listen address")
	cameras := fs.Int("cameras", 2, "paths cam1..camN looping the clip")
	clip := fs.String("clip", "", "Annex-B H.264 clip with AUDs (default: the embedded plate clip)")
	fps := fs.Int("fps", 25, "frames per second")
	noUDP := fs.Bool("no-udp", false, "serve TCP only")
	subs := fs.Bool("sub-streams", false, "also serve each camera's 640x360 sub-stream at camN-sub")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	var data []byte
	if *clip != "" {
		b, err := os.ReadFile(*clip)
		if err != nil {
			return fmt.Errorf("read clip: %w", err)
		}
		data = b
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := testcam.Start(testcam.Options{
		Listen: *listen, Cameras: *cameras, Clip: data, FPS: *fps, DisableUDP: *noUDP, SubStreams: *subs, Logger: log,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	for i := 1; i <= *cameras; i++ {
		fmt.Fprintln(stdout, srv.URL(fmt.Sprintf("cam%d", i)))
	}
	<-ctx.Done()
	return nil
}
