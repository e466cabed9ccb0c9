package site

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kuzet/kuzet/media"
)

// Tap lets viewers attach to a camera's running session on demand (a live
// relay to an ancestor node) without ever opening a camera connection.
// A viewer that falls behind skips to the next keyframe; ingest never waits.
type Tap struct {
	mu   sync.Mutex
	cams map[string]*tapCam
}

type tapCam struct {
	track media.Track
	subs  map[*Sub]struct{}
}

// Sub is one viewer of a camera.
type Sub struct {
	tap     *Tap
	camera  string
	track   media.Track
	ch      chan *media.Unit
	needKey bool // guarded by tap.mu
	done    chan struct{}
	once    sync.Once
}

// ErrNoSession means the camera is not streaming now.
var ErrNoSession = errors.New("camera has no running session")

// NewTap makes an empty tap; register its Consumer with the site.
func NewTap() *Tap { return &Tap{cams: map[string]*tapCam{}} }

// Consumer feeds the tap from every session.
func (t *Tap) Consumer() media.Consumer {
	return media.Consumer{Name: "tap", Queue: 64, Open: func(camera string, tr media.Track, _ string) (media.Sink, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.cams[camera] = &tapCam{track: tr, subs: map[*Sub]struct{}{}}
		return &tapSink{tap: t, camera: camera, codec: tr.Codec}, nil
	}}
}

// Viewers is how many viewers camera has (a relay to an ancestor keeps an
// on-demand stream up).
func (t *Tap) Viewers(camera string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.cams[camera]; ok {
		return len(c.subs)
	}
	return 0
}

// Subscribe attaches a viewer; its first unit is a keyframe.
func (t *Tap) Subscribe(camera string) (*Sub, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.cams[camera]
	if !ok {
		return nil, fmt.Errorf("camera %s: %w", camera, ErrNoSession)
	}
	s := &Sub{tap: t, camera: camera, track: c.track, ch: make(chan *media.Unit, 128), needKey: true, done: make(chan struct{})}
	c.subs[s] = struct{}{}
	return s, nil
}

// Track is the session's track, with its latest parameter sets.
func (s *Sub) Track() media.Track { return s.track }

// Next waits for the next unit; it fails when the session ends.
func (s *Sub) Next(ctx context.Context) (*media.Unit, error) {
	select {
	case u, ok := <-s.ch:
		if !ok {
			return nil, fmt.Errorf("camera %s: session ended", s.camera)
		}
		return u, nil
	case <-s.done:
		return nil, errors.New("viewer closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close detaches the viewer.
func (s *Sub) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.tap.mu.Lock()
		defer s.tap.mu.Unlock()
		if c, ok := s.tap.cams[s.camera]; ok {
			delete(c.subs, s)
		}
	})
	return nil
}

type tapSink struct {
	tap    *Tap
	camera string
	codec  media.Codec
}

func (k *tapSink) WriteUnit(u *media.Unit) error {
	key := u.RandomAccess(k.codec)
	k.tap.mu.Lock()
	defer k.tap.mu.Unlock()
	c := k.tap.cams[k.camera]
	if c == nil {
		return nil
	}
	if key {
		c.track.UpdateParams(u)
	}
	for s := range c.subs {
		if s.needKey && !key {
			continue
		}
		select {
		case s.ch <- u:
			s.needKey = false
		default:
			s.needKey = true // behind: resume at the next keyframe
		}
	}
	return nil
}

func (k *tapSink) Close() error {
	k.tap.mu.Lock()
	defer k.tap.mu.Unlock()
	if c := k.tap.cams[k.camera]; c != nil {
		for s := range c.subs {
			close(s.ch)
		}
		delete(k.tap.cams, k.camera)
	}
	return nil
}
