package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/decode"
)

// decoders shares one decoder per camera, frame size and frame choice
// (all, one in N, keyframes) among the frame streams of every plugin: two plugins on one camera cost one ffmpeg. A
// shared decoder runs at the camera's rate; each stream takes the frames
// its own rate allows, and it stops with its last stream.
type decoders struct {
	m       *Manager
	mu      sync.Mutex
	shared  map[decKey]*shared
	started atomic.Int64 // decoders started, for tests and status
}

type decKey struct {
	camera        string
	width, height int // the most a stream asked for
	every         int // decode.Options.Every: 1 all, N one in N, 0 keyframes only
}

// shared is one running decoder and the streams it feeds.
type shared struct {
	width, height int // of its frames
	mu            sync.Mutex
	subs          map[*follower]struct{}
	cancel        context.CancelFunc
	gone          chan struct{} // closed when the camera's stream ends
}

// follower is one stream's place at a shared decoder.
type follower struct {
	gap  time.Duration // at least between two frames it takes
	last time.Time
	box  *mailbox
	drop func() // a frame it had not taken was replaced
}

// follow attaches a stream to camera's decoder of frames fitting w x h,
// starting it if needed. It returns the frames' size, a channel closed
// when the camera's stream ends, and how to detach.
func (d *decoders) follow(camera string, fs FrameSpec, box *mailbox, drop func()) (fw, fh int, gone <-chan struct{}, stop func(), err error) {
	f := &follower{gap: time.Duration(float64(time.Second) / fs.FPS * 0.9), box: box, drop: drop}
	key := decKey{camera, fs.Width, fs.Height, max(fs.Every, 1)}
	if fs.Keyframes {
		key.every = 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.shared[key]
	if !ok {
		if s, err = d.start(key); err != nil {
			return 0, 0, nil, nil, err
		}
		d.shared[key] = s
	}
	s.mu.Lock()
	s.subs[f] = struct{}{}
	s.mu.Unlock()
	stop = func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		s.mu.Lock()
		delete(s.subs, f)
		last := len(s.subs) == 0
		s.mu.Unlock()
		if last && d.shared[key] == s {
			delete(d.shared, key)
			s.cancel()
		}
	}
	return s.width, s.height, s.gone, stop, nil
}

// start attaches to the camera's running stream and decodes it.
func (d *decoders) start(key decKey) (*shared, error) {
	if d.m.o.Frames == nil {
		return nil, errors.New("this node has no cameras")
	}
	units, err := d.m.o.Frames(key.camera)
	if err != nil {
		return nil, err
	}
	tr := units.Track()
	sw, sh, ok := tr.Resolution()
	if !ok {
		units.Close()
		return nil, fmt.Errorf("the stream does not say its frame size yet")
	}
	ow, oh := fit(sw, sh, key.width, key.height)
	ctx, cancel := context.WithCancel(context.Background())
	s := &shared{width: ow, height: oh, subs: map[*follower]struct{}{}, cancel: cancel, gone: make(chan struct{})}
	dec := decode.New(decode.Options{FFmpeg: d.m.o.FFmpeg, Codec: tr.Codec, Every: key.every, Width: sw, Height: sh,
		OutWidth: ow, OutHeight: oh, Queue: 32, Logger: d.m.o.Logger.With("camera", key.camera)})
	var params [][]byte
	for _, p := range tr.ParamNALUs() {
		if len(p) > 0 {
			params = append(params, p)
		}
	}
	d.started.Add(1)
	go func() {
		defer units.Close()
		defer close(s.gone)
		defer cancel()
		defer func() { // a stream asking after this gets a new decoder
			d.mu.Lock()
			if d.shared[key] == s {
				delete(d.shared, key)
			}
			d.mu.Unlock()
		}()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			dec.Run(ctx)
		}()
		go func() {
			defer wg.Done()
			defer cancel() // the camera's session ended
			for {
				u, err := units.Next(ctx)
				if err != nil {
					return
				}
				dec.Push(u.NALUs, params, u.RandomAccess(tr.Codec), u.Time)
			}
		}()
		for f := range dec.Frames() {
			s.deliver(f)
		}
		wg.Wait()
	}()
	return s, nil
}

// deliver hands a frame to every stream whose rate allows it.
func (s *shared) deliver(f decode.Frame) {
	at := f.Time
	if at.IsZero() {
		at = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for fl := range s.subs {
		if !fl.last.IsZero() && at.Sub(fl.last) < fl.gap {
			continue
		}
		fl.last = at
		if fl.box.put(f) {
			fl.drop()
		}
	}
}
