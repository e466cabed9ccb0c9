package plugin

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestArchive(t *testing.T) {
	var query url.Values
	var filePath string
	c := fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/archive":
			query = r.URL.Query()
			io.WriteString(w, `[{"start":"2026-12-05T10:00:00Z","end":"2026-12-05T10:01:00Z","path":"Entry/2026-12-05/10-00-00 a.mp4","bytes":1048576,"sha256":"ab"},
				{"start":"2026-12-05T10:01:00Z","end":"2026-12-05T10:02:00Z","path":"Entry/2026-12-05/10-01-00.mp4","bytes":2048}]`)
		case len(r.URL.Path) > len("/v1/archive/files/"):
			filePath = r.URL.Path[len("/v1/archive/files/"):]
			io.WriteString(w, "ftyp...")
		default:
			http.NotFound(w, r)
		}
	}))
	ctx := context.Background()
	from := time.Date(2026, 12, 5, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	segs, err := c.Archive(ctx, "Entry", from, from.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if query.Get("camera") != "Entry" || query.Get("from") != "2026-12-05T10:00:00Z" || query.Get("to") != "2026-12-05T10:02:00Z" {
		t.Errorf("query = %v", query)
	}
	if len(segs) != 2 || segs[0].Path != "Entry/2026-12-05/10-00-00 a.mp4" || segs[0].Bytes != 1<<20 ||
		!segs[1].End.Equal(time.Date(2026, 12, 5, 10, 2, 0, 0, time.UTC)) {
		t.Fatalf("segments = %+v", segs)
	}

	rc, err := c.OpenFile(ctx, segs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "ftyp..." || filePath != "Entry/2026-12-05/10-00-00 a.mp4" {
		t.Errorf("file %q at %q", b, filePath)
	}

	for _, bad := range []string{"", "/etc/passwd", "../x.mp4", "Entry/../../x", ".."} {
		if _, err := c.OpenFile(ctx, bad); err == nil {
			t.Errorf("OpenFile(%q) accepted", bad)
		}
	}
}

func TestArchiveForbidden(t *testing.T) {
	c := fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusForbidden, "camera Vault is not granted")
	}))
	if _, err := c.Archive(context.Background(), "Vault", time.Now(), time.Now()); err == nil {
		t.Fatal("403 accepted")
	}
}
