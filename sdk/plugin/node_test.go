package plugin

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// fakeNode serves h on a real Unix socket, as the node does, and returns
// a client of it.
func fakeNode(t *testing.T, h http.Handler) *Client {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "p.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return Dial(sock)
}

// frameBytes encodes one frame the way the node does: header line, pixels.
func frameBytes(camera, format string, w, h int, seq, dropped uint64, pix []byte) []byte {
	hdr, _ := json.Marshal(map[string]any{
		"camera": camera, "time": "2026-12-05T10:00:00Z", "width": w, "height": h,
		"format": format, "seq": seq, "dropped": dropped, "bytes": len(pix),
	})
	return append(append(hdr, '\n'), pix...)
}

// writeJSONError answers as the node does on a refusal.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"error\": %q}\n", msg)
}
