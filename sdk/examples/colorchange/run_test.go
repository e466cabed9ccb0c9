package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/sdk/plugin"
)

// writeFrame writes f as the node does: header line, then pixels.
func writeFrame(w io.Writer, f plugin.Frame) {
	hdr, _ := json.Marshal(map[string]any{
		"camera": f.Camera, "time": time.Now().UTC(), "width": f.Width, "height": f.Height,
		"format": f.Format, "seq": f.Seq, "bytes": len(f.Pix),
	})
	w.Write(append(hdr, '\n'))
	w.Write(f.Pix)
}

// startNode serves h on a Unix socket and points the plugin's environment
// at it.
func startNode(t *testing.T, h http.Handler) {
	sock := filepath.Join(t.TempDir(), "colorchange.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	t.Setenv(plugin.EnvSocket, sock)
	t.Setenv(plugin.EnvName, "colorchange")
	t.Setenv(plugin.EnvProtocol, "1")
}

// The whole plugin against a fake node: grey frames, a stream cut short,
// then, on the stream asked again, red frames: one color_change from grey
// to red, with a snapshot.
func TestRun(t *testing.T) {
	posted := make(chan map[string]any, 4)
	var asked atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"protocol": 1, "name": "colorchange", "node": "n", "cameras": ["Entry"],
			"frames": {"fps": 2, "width": 32, "height": 18, "format": "rgb24"}, "limits": {"snapshot_kb": 512}}`)
	})
	mux.HandleFunc("GET /v1/frames", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-kuzet-frames")
		if asked.Add(1) == 1 {
			for range 6 {
				writeFrame(w, solid(grey, 0, nil))
			}
			w.Write([]byte(`{"camera":"Entry","width":32,"height":18,"format":"rgb24","bytes":1728}` + "\n\x00\x00"))
			return
		}
		for range 6 {
			writeFrame(w, solid(red, 0, nil))
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		posted <- m
		w.WriteHeader(http.StatusAccepted)
	})
	startNode(t, mux)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{threshold: 40, cooldown: 10 * time.Second, smooth: 4}, slog.New(slog.DiscardHandler))
	}()
	select {
	case m := <-posted:
		if m["kind"] != "color_change" || m["camera"] != "Entry" || m["severity"] != "medium" ||
			!strings.Contains(m["message"].(string), "from grey (128, 128, 128) to red (220, 20, 20)") || m["snapshot"] == "" {
			t.Errorf("posted %v", m)
		}
		if b, _ := json.Marshal(m["data"]); string(b) != `{"from":[128,128,128],"to":[220,20,20]}` {
			t.Errorf("data %s", b)
		}
	case err := <-done:
		t.Fatalf("run ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no event posted")
	}
	if n := asked.Load(); n != 2 {
		t.Errorf("frames asked %d times, want 2", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

// A camera refused by the node is fatal: the restarted plugin will read
// its grants again.
func TestRunCameraRefused(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hello", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"protocol": 1, "name": "colorchange", "cameras": ["Gone"]}`)
	})
	mux.HandleFunc("GET /v1/frames", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error": "camera Gone is not granted"}`)
	})
	startNode(t, mux)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, config{threshold: 40, smooth: 4}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "camera Gone is not granted") {
		t.Fatalf("run = %v, want the 403", err)
	}
}

func TestRunNotStartedByNode(t *testing.T) {
	t.Setenv(plugin.EnvSocket, "")
	if err := run(context.Background(), config{}, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("run without a node succeeded")
	}
}
