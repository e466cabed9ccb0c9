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
	onvifAddr := fs.String("onvif", "", "also be an ONVIF camera (cam1): its services' HTTP address, e.g. 127.0.0.1:8000")
	onvifUser := fs.String("onvif-user", "admin", "the ONVIF camera's user")
	onvifPass := fs.String("onvif-password", "admin", "the ONVIF camera's password")
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
	if *onvifAddr != "" {
		sub := srv.URL("cam1-sub")
		if !*subs {
			sub = srv.URL("cam2")
		}
		o := testcam.ONVIFOptions{HTTP: *onvifAddr, Multicast: true, User: *onvifUser, Password: *onvifPass, Main: srv.URL("cam1"), Sub: sub}
		cam, err := testcam.StartONVIF(o)
		if err != nil {
			log.Warn("ONVIF camera: not in the WS-Discovery group; it answers direct probes only", "err", err)
			o.Multicast = false
			if cam, err = testcam.StartONVIF(o); err != nil {
				return err
			}
		}
		defer cam.Close()
		fmt.Fprintf(stdout, "ONVIF camera %s (discovery: the WS-Discovery group, or %s directly)\n", cam.DeviceURL(), cam.DiscoveryAddr())
	}
	<-ctx.Done()
	return nil
}
