package decode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/media"
)

// Options configure the frame decoder of one camera.
type Options struct {
	FFmpeg string // path to ffmpeg (default "ffmpeg")
	Codec  media.Codec
	// Every keeps one frame in Every (1: all). 0 decodes keyframes only,
	// which costs least: only keyframes are fed to ffmpeg at all.
	Every         int
	Width, Height int // the stream's frame size (from its SPS)
	// OutWidth and OutHeight, when set, scale every frame to that size
	// (analysis that needs only a thumbnail decodes far less memory).
	OutWidth, OutHeight int
	Queue               int // access units waiting for ffmpeg before drops (default 128)
	Logger              *slog.Logger
}

// Frame is a decoded picture and when its access unit arrived.
type Frame struct {
	Img  *image.RGBA
	Time time.Time
}

type unit struct {
	annexB []byte
	time   time.Time
	key    bool
}

// Decoder turns one camera's access units into RGBA frames with a
// supervised ffmpeg subprocess (Annex-B on stdin, raw frames on stdout).
// Push never blocks: when analysis falls behind, units are dropped and
// counted, and recording is never affected.
type Decoder struct {
	o       Options
	in      chan unit
	out     chan Frame
	dropped atomic.Uint64
	synced  bool // Push's goroutine: the chain of units is unbroken since a keyframe
	mu      sync.Mutex
	pending []time.Time // times of fed units that will yield a frame, in order
}

// New prepares a decoder; Run starts ffmpeg.
func New(o Options) *Decoder {
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.Queue <= 0 {
		o.Queue = 128
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Decoder{o: o, in: make(chan unit, o.Queue), out: make(chan Frame, 2)}
}

// Frames delivers decoded frames; it is closed when Run returns.
func (d *Decoder) Frames() <-chan Frame { return d.out }

// Dropped counts units not decoded because analysis was behind.
func (d *Decoder) Dropped() uint64 { return d.dropped.Load() }

// Push offers one access unit (its NAL units without start codes, or its
// picture). key
// marks a keyframe; params are prepended to keyframes that lack them.
func (d *Decoder) Push(nalus [][]byte, params [][]byte, key bool, at time.Time) {
	if !d.synced && !key {
		return // ffmpeg cannot start mid-GOP
	}
	if d.o.Every == 0 && !key {
		return
	}
	d.synced = true
	if !key {
		params = nil
	}
	buf := d.o.Codec.AppendES(nil, params, nalus)
	select {
	case d.in <- unit{annexB: buf, time: at, key: key}:
	default:
		d.dropped.Add(1)
		// a dropped unit breaks the decoding chain until the next keyframe
		d.synced = false
	}
}

// Run supervises ffmpeg until ctx ends, restarting it with capped backoff.
func (d *Decoder) Run(ctx context.Context) {
	defer close(d.out)
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := d.runOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		d.o.Logger.Warn("frame decoder stopped; restarting", "err", err, "retry_in", backoff)
		if time.Since(start) > time.Minute {
			backoff = 500 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (d *Decoder) args() []string {
	// no -fflags nobuffer: it makes ffmpeg drop what it read while probing,
	// so every later frame would be paired with the previous unit's time
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-flags", "low_delay", "-probesize", "32", "-analyzeduration", "0",
		"-f", d.o.Codec.FFmpeg(), "-i", "pipe:0"}
	var filters []string
	if d.o.Every > 1 {
		filters = append(filters, "select=not(mod(n\\,"+strconv.Itoa(d.o.Every)+"))")
	}
	if d.o.OutWidth > 0 && d.o.OutHeight > 0 {
		filters = append(filters, fmt.Sprintf("scale=%d:%d:flags=area", d.o.OutWidth, d.o.OutHeight))
	}
	if len(filters) > 0 {
		args = append(args, "-vf", strings.Join(filters, ","))
	}
	return append(args, "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1")
}

func (d *Decoder) runOnce(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, d.o.FFmpeg, d.args()...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr Stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", d.o.FFmpeg, err)
	}
	d.mu.Lock()
	d.pending = d.pending[:0]
	d.mu.Unlock()

	feedDone := make(chan error, 1)
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	go func() { feedDone <- d.feed(feedCtx, stdin) }()

	w, h := d.o.Width, d.o.Height
	if d.o.OutWidth > 0 && d.o.OutHeight > 0 {
		w, h = d.o.OutWidth, d.o.OutHeight
	}
	size := w * h * 4
	r := bufio.NewReaderSize(stdout, 1<<20)
	var readErr error
	for {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		if _, err := io.ReadFull(r, img.Pix[:size]); err != nil {
			readErr = err
			break
		}
		d.mu.Lock()
		var at time.Time
		if len(d.pending) > 0 {
			at, d.pending = d.pending[0], d.pending[1:]
		}
		d.mu.Unlock()
		select {
		case d.out <- Frame{Img: img, Time: at}:
		case <-ctx.Done():
			readErr = ctx.Err()
		}
		if readErr != nil {
			break
		}
	}
	stopFeed()
	_ = stdin.Close()
	<-feedDone
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(readErr, werr, errors.New(stderr.String()))
}

// feed writes queued units to a fresh ffmpeg from a keyframe on, recording
// the times of those that will come out as frames (the select filter keeps
// frame n when n is a multiple of Every).
func (d *Decoder) feed(ctx context.Context, w io.Writer) error {
	started, n := false, 0
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case u := <-d.in:
			if !started && !u.key {
				continue
			}
			started = true
			keep := d.o.Every <= 1 || n%d.o.Every == 0
			n++
			if keep {
				d.mu.Lock()
				d.pending = append(d.pending, u.time)
				d.mu.Unlock()
			}
			if _, err := w.Write(u.annexB); err != nil {
				return err
			}
		}
	}
}

// Stderr keeps the first 4 KiB of what ffmpeg complains of: enough to
// say why it failed, bounded however much it writes. Safe for the
// process's writes and a reader at once.
type Stderr struct {
	mu sync.Mutex
	b  []byte
}

func (l *Stderr) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *Stderr) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
