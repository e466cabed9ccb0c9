package site

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/pion/rtp"

	"github.com/kuzet/kuzet/media"
)

// subFeed is a camera's sub-stream, pulled only while someone watches it
// (through Relays): never recorded or analysed, so it needs none of a
// camera session's bookkeeping.
type subFeed struct {
	client *gortsplib.Client
	track  media.Track
	ch     chan *media.Unit
	done   chan error

	mu      sync.Mutex
	needKey bool // a unit was dropped: skip to the next keyframe
}

// DialSubStream opens camera's sub-stream at rawURL as a Feed; silence
// for longer than timeout ends it.
func DialSubStream(ctx context.Context, camera, rawURL, transport string, timeout time.Duration) (Feed, error) {
	return dial(ctx, camera, "camera "+camera+" sub-stream", rawURL, transport, timeout)
}

// dial opens a stream; name says whose in errors.
func dial(ctx context.Context, camera, name, rawURL, transport string, timeout time.Duration) (Feed, error) {
	u, err := base.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: bad URL: %w", name, err)
	}
	tr := gortsplib.TransportTCP
	if transport == "udp" {
		tr = gortsplib.TransportUDP
	}
	c := &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tr, ReadTimeout: timeout, WriteTimeout: timeout}
	if err := c.Start2(); err != nil {
		return nil, fmt.Errorf("%s: connect: %w", name, err)
	}
	f := &subFeed{client: c, ch: make(chan *media.Unit, 64), done: make(chan error, 1)}
	fail := func(what string, err error) (Feed, error) {
		c.Close()
		return nil, fmt.Errorf("%s: %s: %w", name, what, err)
	}
	stop := context.AfterFunc(ctx, c.Close) // a dial abandoned midway
	defer stop()
	desc, _, err := c.Describe(u)
	if err != nil {
		return fail("describe", err)
	}
	track, medi, forma, err := pickTrack(camera, desc.Medias)
	if err != nil {
		return fail("track", err)
	}
	decode, err := newUnitDecoder(forma)
	if err != nil {
		return fail("track", err)
	}
	if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		return fail("setup", err)
	}
	f.track = track
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		pts, timed := c.PacketPTS2(medi, pkt)
		nalus, err := decode(pkt)
		if err != nil || !timed || len(nalus) == 0 {
			return
		}
		u := newUnit(nalus, pts, time.Now())
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.needKey && !u.RandomAccess(track.Codec) {
			return
		}
		select {
		case f.ch <- u:
			f.needKey = false
		default:
			f.needKey = true // a viewer never waits the camera
		}
	})
	if _, err := c.Play(nil); err != nil {
		return fail("play", err)
	}
	go func() { f.done <- c.Wait() }()
	return f, nil
}

func (f *subFeed) Track() media.Track { return f.track }

func (f *subFeed) Next(ctx context.Context) (*media.Unit, error) {
	select {
	case u := <-f.ch:
		return u, nil
	case err := <-f.done:
		f.done <- err // every later call fails too
		return nil, fmt.Errorf("sub-stream ended: %w", err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *subFeed) Close() error {
	f.client.Close()
	return nil
}

// Probe opens a camera's stream and closes it again: the URL, the login
// and the codec are what a session would meet (kuzet check).
func Probe(ctx context.Context, camera, rawURL, transport string, timeout time.Duration) (media.Track, error) {
	f, err := dial(ctx, camera, "camera "+camera, rawURL, transport, timeout)
	if err != nil {
		return media.Track{}, err
	}
	defer f.Close()
	return f.Track(), nil
}
