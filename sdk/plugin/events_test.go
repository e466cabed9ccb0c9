package plugin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEvents(t *testing.T) {
	var kinds string
	c := fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kinds = r.URL.Query().Get("kinds")
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, `{"origin":"site-a","seq":41,"kind":"plate.read","time":"2026-12-05T10:00:00Z","camera":"Entry","payload":{"plate":"AB123"}}`+"\n")
		w.(http.Flusher).Flush()
		io.WriteString(w, "\n") // a blank keep-alive line is let pass
		io.WriteString(w, `{"origin":"site-a","seq":42,"kind":"alarm.raised","time":"2026-12-05T10:00:01Z","severity":"grave","payload":{"key":"k"}}`+"\n")
	}))
	es, err := c.Events(context.Background(), "plate.read", "alarm.raised")
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	if kinds != "plate.read,alarm.raised" {
		t.Errorf("kinds = %q", kinds)
	}
	e, err := es.Next()
	if err != nil {
		t.Fatal(err)
	}
	if e.Origin != "site-a" || e.Seq != 41 || e.Kind != "plate.read" || e.Camera != "Entry" ||
		!e.Time.Equal(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)) || string(e.Payload) != `{"plate":"AB123"}` {
		t.Errorf("first event: %+v", e)
	}
	e, err = es.Next()
	if err != nil || e.Seq != 42 || e.Severity != "grave" || e.Camera != "" {
		t.Errorf("second event: %+v, %v", e, err)
	}
	if _, err := es.Next(); err != io.EOF {
		t.Errorf("end: %v, want io.EOF", err)
	}
}

// A line that is not an event is an error, and the stream goes on.
func TestEventsBadLine(t *testing.T) {
	c := fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "not json\n"+`{"seq": 7}`+"\n")
	}))
	es, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	if _, err := es.Next(); err == nil {
		t.Fatal("bad line accepted")
	}
	if e, err := es.Next(); err != nil || e.Seq != 7 {
		t.Fatalf("after a bad line: %+v, %v", e, err)
	}
}

func TestPost(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []map[string]any
		next = []struct {
			status int
			msg    string
		}{{202, ""}, {400, "severity: must be empty, info, low, medium, high or grave"}, {429, "over 120 events per minute"}, {500, ""}}
	)
	c := fakeNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/events" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "wrong request", http.StatusMethodNotAllowed)
			return
		}
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			writeJSONError(w, 400, "body: "+err.Error())
			return
		}
		mu.Lock()
		got = append(got, m)
		a := next[0]
		next = next[1:]
		mu.Unlock()
		switch {
		case a.status == 500:
			http.Error(w, "the node broke", 500) // plain text, not JSON
		case a.msg != "":
			writeJSONError(w, a.status, a.msg)
		default:
			w.WriteHeader(a.status)
		}
	}))
	ctx := context.Background()
	jpeg := []byte{0xff, 0xd8, 0xff, 0xd9}
	out := Out{
		Kind: "color_change", Camera: "Entry", Time: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC),
		Severity: SeverityMedium, Message: "the picture turned red",
		Boxes: []Box{{X: 0.1, Y: 0.2, W: 0.3, H: 0.2, Label: "fire", Score: 0.91}},
		Data:  map[string]any{"from": []int{1, 2, 3}}, Snapshot: jpeg,
	}
	if err := c.Post(ctx, out); err != nil {
		t.Fatalf("202: %v", err)
	}
	b, _ := json.Marshal(got[0])
	const want = `{"boxes":[{"h":0.2,"label":"fire","score":0.91,"w":0.3,"x":0.1,"y":0.2}],"camera":"Entry","data":{"from":[1,2,3]},` +
		`"kind":"color_change","message":"the picture turned red","severity":"medium","snapshot":"/9j/2Q==","time":"2026-12-05T10:00:00Z"}`
	if string(b) != want {
		t.Errorf("posted\n%s\nwant\n%s", b, want)
	}
	if s, _ := base64.StdEncoding.DecodeString(got[0]["snapshot"].(string)); string(s) != string(jpeg) {
		t.Errorf("snapshot = %x", s)
	}

	err := c.Post(ctx, Out{Kind: "x", Severity: "loud"})
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || e.Message != "severity: must be empty, info, low, medium, high or grave" {
		t.Fatalf("400: %v", err)
	}
	if errors.Is(err, ErrRateLimited) {
		t.Error("a 400 matches ErrRateLimited")
	}
	if _, ok := got[1]["time"]; ok {
		t.Errorf("zero time sent: %v", got[1])
	}

	if err := c.Post(ctx, Out{Kind: "x"}); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("429: %v, want ErrRateLimited", err)
	}
	err = c.Post(ctx, Out{Kind: "x"})
	if !errors.As(err, &e) || e.Status != 500 || e.Message != "the node broke" || !strings.Contains(err.Error(), "500 Internal Server Error: the node broke") {
		t.Fatalf("500: %v", err)
	}
}
