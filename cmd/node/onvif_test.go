package main

import (
	"context"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/testcam"
	"github.com/kuzet/kuzet/topology"
)

// NVMS-6.13: kuzet onvif discovers the simulated camera, describes its
// streams with its credentials, and adds it to the catalogue: the main
// stream with the login, the sub-stream's path for small tiles.
func TestONVIFCommands(t *testing.T) {
	cam, err := testcam.StartONVIF(testcam.ONVIFOptions{User: "admin", Password: "s3cret", Name: "Gate 4",
		Main: "rtsp://127.0.0.1:8554/cam1", Sub: "rtsp://127.0.0.1:8554/cam1-sub"})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	code, out := runCLI(t, "onvif", "discover", "--no-multicast", "--to", cam.DiscoveryAddr(), "--timeout", "1s", "--user", "admin", "--password", "s3cret")
	if code != 0 || !strings.Contains(out, cam.DeviceURL()) || !strings.Contains(out, "Gate 4") ||
		!strings.Contains(out, "profile main (main): H264 1280x720 25 fps  rtsp://127.0.0.1:8554/cam1") ||
		!strings.Contains(out, "profile sub (sub): H264 640x360") {
		t.Fatalf("discover: %d\n%s", code, out)
	}
	if code, out := runCLI(t, "onvif", "describe", cam.DeviceURL(), "--user", "admin", "--password", "wrong"); code != 2 || !strings.Contains(out, "NotAuthorized") {
		t.Fatalf("describe with a wrong password: %d %s", code, out)
	}

	srv := startCatalogue(t, "centre")
	c, err := topology.NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range []topology.Node{{ID: "centre", Role: "centre"}, {ID: "site-a", Role: "site", Parent: "centre"}} {
		if _, err := c.PutNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	code, out = runCLI(t, "onvif", "add", cam.DeviceURL(), "--site", "site-a", "--id", "Gate4", "--zone", "", "--user", "admin", "--password", "s3cret", "--api", srv.URL)
	if code != 0 || !strings.Contains(out, "camera site-a/Gate4 added: Kuzet KZT-100, main 1280x720 rtsp://127.0.0.1:8554/cam1, sub-stream /cam1-sub") {
		t.Fatalf("add: %d %s", code, out)
	}
	code, out = runCLI(t, "topology", "export", "--api", srv.URL)
	if code != 0 || !strings.Contains(out, `"url": "rtsp://admin@127.0.0.1:8554/cam1"`) || !strings.Contains(out, `"sub_path": "/cam1-sub"`) ||
		!strings.Contains(out, `"password_set": true`) || strings.Contains(out, "s3cret") {
		t.Fatalf("the catalogue after add: %d %s", code, out)
	}
}
