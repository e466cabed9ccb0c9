package plugin

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Whatever a plugin posts, the node answers with a status and stores
// only what it accepted, under the plugin's name.
func FuzzPost(f *testing.F) {
	for _, s := range []string{`{"kind":"x"}`, `{"kind":"fire","camera":"Camera1","severity":"grave","snapshot":"/9j/4AAQ"}`,
		`{"kind":"x","boxes":[{"x":0.5,"y":0.5,"w":1,"h":1}],"data":{"a":[1,2]}}`, `{"kind":"x","time":"2026-12-05T10:00:00Z"}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	l, err := event.OpenLog(filepath.Join(dir, "events.db"), "site", nil)
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()
	m, err := New(Options{Specs: []Spec{{Name: "fz", Command: "x", Cameras: []string{"Camera1"}, Limits: Limits{EventsPerMinute: 1 << 30}}},
		Log: l, SnapshotDir: filepath.Join(dir, "snapshots"), Now: func() time.Time { return time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		f.Fatal(err)
	}
	h := m.runners[0].routes()
	f.Fuzz(func(t *testing.T, body []byte) {
		before := l.Last()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body)))
		evs, err := l.Range(before, 10)
		if err != nil {
			t.Fatal(err)
		}
		stored := 0
		for _, e := range evs {
			switch {
			case strings.HasPrefix(e.Kind, "plugin.fz."):
				stored++
			case e.Kind == event.KindAlarmRaised: // the post's own, or plugin_misbehaving
			default:
				t.Fatalf("stored %s", e.Kind)
			}
		}
		switch {
		case rec.Code == http.StatusAccepted && stored != 1:
			t.Fatalf("accepted, %d stored: %s", stored, rec.Body)
		case rec.Code != http.StatusAccepted && stored != 0:
			t.Fatalf("%d, yet stored %+v", rec.Code, evs)
		case rec.Code != http.StatusAccepted && rec.Code != 400 && rec.Code != 413:
			t.Fatalf("answered %d: %s", rec.Code, rec.Body)
		}
	})
}
