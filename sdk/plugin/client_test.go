package plugin

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestHello(t *testing.T) {
	c := fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/hello" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"protocol": 1, "name": "colorchange", "node": "site-a",
			"cameras": ["Entry", "Exit"],
			"frames": {"fps": 2, "width": 320, "height": 180, "format": "rgb24"},
			"events": ["plate.read", "alarm.raised"],
			"limits": {"memory_mb": 512, "nice": 10, "events_per_minute": 120, "snapshot_kb": 512},
			"later": "fields a newer node adds are ignored"}`))
	}))
	h, err := c.Hello(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "colorchange" || h.Node != "site-a" || strings.Join(h.Cameras, ",") != "Entry,Exit" ||
		strings.Join(h.Events, ",") != "plate.read,alarm.raised" {
		t.Errorf("hello: %+v", h)
	}
	if h.Frames != (FrameConfig{FPS: 2, Width: 320, Height: 180, Format: FormatRGB24}) {
		t.Errorf("frames: %+v", h.Frames)
	}
	if h.Limits != (Limits{MemoryMB: 512, Nice: 10, EventsPerMinute: 120, SnapshotKB: 512}) {
		t.Errorf("limits: %+v", h.Limits)
	}
}

func TestHelloOtherProtocol(t *testing.T) {
	c := fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"protocol": 2, "name": "x"}`))
	}))
	if _, err := c.Hello(context.Background()); err == nil || !strings.Contains(err.Error(), "protocol 2") {
		t.Fatalf("err = %v, want a protocol 2 refusal", err)
	}
}

func TestConnect(t *testing.T) {
	for _, tc := range []struct {
		name, socket, protocol, wantErr string
	}{
		{"no socket", "", "1", EnvSocket + " is not set"},
		{"no protocol", "/tmp/x.sock", "", EnvProtocol + " is not set"},
		{"other protocol", "/tmp/x.sock", "2", `protocol "2"`},
		{"ok", "/tmp/x.sock", "1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvSocket, tc.socket)
			t.Setenv(EnvProtocol, tc.protocol)
			t.Setenv(EnvName, "colorchange")
			c, err := Connect()
			if tc.wantErr == "" {
				if err != nil || c.Name() != "colorchange" {
					t.Fatalf("Connect = %v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestUnreachableNode(t *testing.T) {
	c := Dial(t.TempDir() + "/none.sock")
	if _, err := c.Hello(context.Background()); err == nil {
		t.Fatal("hello on a missing socket succeeded")
	}
}

// A remote plugin's Connect dials the node (KUZET_PLUGIN_ADDRESS) or
// listens for it (KUZET_PLUGIN_LISTEN), and says which setting is
// missing or unreadable.
func TestConnectRemote(t *testing.T) {
	t.Setenv(EnvSocket, "")
	t.Setenv(EnvProtocol, "1")
	for _, tc := range []struct {
		env     map[string]string
		wantErr string
	}{
		{map[string]string{EnvListen: "127.0.0.1:0"}, EnvNode + " is not set"},
		{map[string]string{EnvListen: "127.0.0.1:0", EnvNode: "site", EnvCA: "/nonexistent/ca.pem", EnvCert: "c", EnvKey: "k"}, EnvCA},
		{map[string]string{EnvAddress: "127.0.0.1:7450", EnvNode: "site"}, EnvCA + " is not set"},
		{map[string]string{}, EnvSocket + " is not set"},
	} {
		for _, k := range []string{EnvListen, EnvAddress, EnvNode, EnvCA, EnvCert, EnvKey} {
			t.Setenv(k, tc.env[k])
		}
		if _, err := Connect(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: %v, want %q", tc.env, err, tc.wantErr)
		}
	}
}
