package site

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
)

// fakeFeed hands out numbered units until its limit, then fails.
type fakeFeed struct {
	n, limit int64
	closed   chan struct{}
}

func (f *fakeFeed) Track() media.Track { return media.Track{Codec: media.H264} }

func (f *fakeFeed) Next(ctx context.Context) (*media.Unit, error) {
	if f.n >= f.limit {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	f.n++
	time.Sleep(time.Millisecond)
	return &media.Unit{NALUs: [][]byte{{0x65}}, PTS: f.n}, nil
}

func (f *fakeFeed) Close() error { close(f.closed); return nil }

// relaySink records what one consumer was given.
type relaySink struct {
	mu     sync.Mutex
	camera string
	reason string
	pts    []int64
	closed bool
}

func (s *relaySink) WriteUnit(u *media.Unit) error {
	s.mu.Lock()
	s.pts = append(s.pts, u.PTS)
	s.mu.Unlock()
	return nil
}

func (s *relaySink) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return nil
}

// A relayed camera is one more session source: every consumer that takes
// it gets its units in order through its own queue, one that declines is
// left out, and the feed and sinks close when the relays end.
func TestRelayFeedsConsumers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	feed := &fakeFeed{limit: 50, closed: make(chan struct{})}
	var opened []string
	sink := &relaySink{}
	rs := NewRelays(ctx, RelayOptions{
		Open: func(_ context.Context, origin, camera string) (Feed, error) {
			opened = append(opened, origin+"/"+camera)
			return feed, nil
		},
		Consumers: []media.Consumer{
			{Name: "live", Queue: 128, Open: func(camera string, _ media.Track, reason string) (media.Sink, error) {
				sink.camera, sink.reason = camera, reason
				return sink, nil
			}},
			{Name: "declines", Queue: 8, Open: func(string, media.Track, string) (media.Sink, error) { return nil, nil }},
			{Name: "fails", Queue: 8, Open: func(string, media.Track, string) (media.Sink, error) {
				return nil, errors.New("no")
			}},
		},
	})
	wait, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := rs.Ensure(wait, "site-a/Camera1", "site-a", "Camera1"); err != nil {
		t.Fatal(err)
	}
	if err := rs.Ensure(wait, "site-a/Camera1", "site-a", "Camera1"); err != nil {
		t.Fatal(err)
	}
	rs.Touch("site-a/Camera1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.pts)
		sink.mu.Unlock()
		if n == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer got %d units, want 50", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-feed.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the feed was not closed when the relays ended")
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		rs.mu.Lock()
		n := len(rs.m)
		rs.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ended relay is still listed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(opened) != 1 || opened[0] != "site-a/Camera1" {
		t.Errorf("feeds opened: %v", opened)
	}
	if sink.camera != "site-a/Camera1" || sink.reason != "relay from site-a" || !sink.closed {
		t.Errorf("sink: camera %q reason %q closed %v", sink.camera, sink.reason, sink.closed)
	}
	for i, p := range sink.pts {
		if p != int64(i+1) {
			t.Fatalf("unit %d has PTS %d: out of order", i, p)
		}
	}
}

// A relay whose feed cannot be opened reports why when the caller gives up.
func TestRelayReportsWhyItDidNotStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs := NewRelays(ctx, RelayOptions{Open: func(context.Context, string, string) (Feed, error) {
		return nil, errors.New("link down")
	}})
	wait, stop := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer stop()
	err := rs.Ensure(wait, "site-a/Camera1", "site-a", "Camera1")
	if err == nil || !strings.Contains(err.Error(), "did not start in time") || !strings.Contains(err.Error(), "link down") {
		t.Fatalf("Ensure: %v", err)
	}
}
