package live

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/kuzet/kuzet/decode"
	"github.com/kuzet/kuzet/media"
)

// TranscodeSuffix names a camera's live view transcoded to H.264
// ("Camera1~h264", "site-a/Camera1~h264"): what a browser plays when it
// cannot play the camera's own codec (H.265 in most browsers, M-JPEG and
// MPEG-4 Part 2 in all of them). It runs only while someone watches.
const TranscodeSuffix = "~h264"

// tin is one unit waiting for ffmpeg.
type tin struct {
	es   []byte
	pts  int64
	time time.Time
}

// transcoder feeds one camera's units to ffmpeg and its H.264 output to
// the transcoded view's muxer. Pushing never blocks the camera's session:
// when ffmpeg falls behind, units are dropped up to the next keyframe.
type transcoder struct {
	s       *Server
	src     *camera // the camera transcoded
	out     *camera // its "~h264" view
	session uint64
	in      chan tin
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}

	synced bool        // push's goroutine: the chain of units is unbroken since a keyframe
	resync atomic.Bool // a new ffmpeg waits for a keyframe

	mu      sync.Mutex
	pending []tin // pictures in ffmpeg, for their times (sorted by pts)
}

// startTranscoder starts transcoding src into out; the caller holds the
// server's count of transcoders.
func (s *Server) startTranscoder(src, out *camera) *transcoder {
	ctx, cancel := context.WithCancel(context.Background())
	t := &transcoder{s: s, src: src, out: out, session: s.sessions.Add(1), in: make(chan tin, 64),
		log: s.log.With("camera", out.id, "component", "transcode"), cancel: cancel, done: make(chan struct{})}
	out.sessions.Add(1)
	src.tc.Store(t)
	s.met.transcodes.Inc()
	go func() {
		defer close(t.done)
		t.run(ctx)
	}()
	t.log.Info("live transcoding started")
	return t
}

// stop ends ffmpeg and detaches from the camera.
func (t *transcoder) stop() {
	t.src.tc.CompareAndSwap(t, nil)
	t.cancel()
	<-t.done
	t.out.sessions.Add(-1)
	if m := t.out.mux.Load(); m != nil {
		m.endSession(t.session)
	}
	t.s.met.transcodes.Dec()
	t.log.Info("live transcoding stopped")
}

// push offers one of the camera's units (its session's goroutine).
func (t *transcoder) push(tr *media.Track, u *media.Unit) {
	key := u.RandomAccess(tr.Codec)
	if t.resync.Swap(false) {
		t.synced = false
	}
	if !t.synced && !key {
		return // ffmpeg cannot start mid-GOP
	}
	var params [][]byte
	if key {
		params = tr.ParamNALUs()
	}
	select {
	case t.in <- tin{es: tr.Codec.AppendES(nil, params, u.NALUs), pts: u.PTS, time: u.Time}:
		t.synced = true
		t.s.met.transcodeFrames.WithLabelValues(t.out.id, "in").Inc()
	default:
		t.synced = false
		t.s.met.transcodeFrames.WithLabelValues(t.out.id, "dropped").Inc()
	}
}

// run restarts ffmpeg with capped backoff until ctx ends.
func (t *transcoder) run(ctx context.Context) {
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		codec, ok := t.src.codec.Load().(media.Codec)
		if !ok {
			// no session yet: wait for one
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		err := t.runOnce(ctx, codec)
		if ctx.Err() != nil {
			return
		}
		t.log.Warn("live transcoder stopped; restarting", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (t *transcoder) args(codec media.Codec) []string {
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-probesize", "32", "-analyzeduration", "0", "-f", codec.FFmpeg(), "-i", "pipe:0", "-fps_mode", "passthrough"}
	args = append(args, t.s.o.Transcode.EncodeArgs()...)
	// one picture in, one out, at once; a delimiter before each access unit
	return append(args, "-tune", "zerolatency", "-x264-params", "aud=1:repeat-headers=1", "-f", "h264", "pipe:1")
}

func (t *transcoder) runOnce(ctx context.Context, codec media.Codec) error {
	cmd := exec.CommandContext(ctx, t.s.o.Transcode.FFmpeg, t.args(codec)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr decode.Stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", t.s.o.Transcode.FFmpeg, err)
	}
	t.mu.Lock()
	t.pending = t.pending[:0]
	t.mu.Unlock()
	t.resync.Store(true) // a new ffmpeg starts at a keyframe
	for len(t.in) > 0 {
		<-t.in
	}
	feedCtx, stopFeed := context.WithCancel(ctx)
	fed, metered := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		t.feed(feedCtx, stdin)
	}()
	cpu := newCPUMeter(cmd.Process.Pid)
	go func() {
		defer close(metered)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-feedCtx.Done():
				return
			case <-tick.C:
				t.s.met.transcodeCPU.WithLabelValues(t.out.id).Add(cpu.delta())
			}
		}
	}()
	rerr := t.read(stdout)
	stopFeed()
	_ = stdin.Close()
	<-fed
	<-metered
	werr := cmd.Wait()
	t.s.met.transcodeCPU.WithLabelValues(t.out.id).Add(cpu.final(cmd.ProcessState))
	if ctx.Err() != nil {
		return nil
	}
	return errors.Join(rerr, werr, errors.New(strings.TrimSpace(stderr.String())))
}

// feed writes queued units to ffmpeg, remembering each one's time.
func (t *transcoder) feed(ctx context.Context, w io.Writer) {
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-t.in:
			t.mu.Lock()
			// pictures leave a decoder in presentation order
			i, _ := slices.BinarySearchFunc(t.pending, u.pts, func(p tin, pts int64) int {
				switch {
				case p.pts < pts:
					return -1
				case p.pts > pts:
					return 1
				}
				return 0
			})
			t.pending = slices.Insert(t.pending, i, tin{pts: u.pts, time: u.time})
			t.mu.Unlock()
			if _, err := w.Write(u.es); err != nil {
				return
			}
		}
	}
}

// read splits ffmpeg's Annex-B output into access units at each access
// unit delimiter and hands them to the transcoded view's muxer.
func (t *transcoder) read(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	track := media.Track{Codec: media.H264}
	var au [][]byte
	emit := func() {
		if len(au) == 0 {
			return
		}
		t.mu.Lock()
		var at tin
		if len(t.pending) > 0 {
			at, t.pending = t.pending[0], t.pending[1:]
		}
		t.mu.Unlock()
		u := &media.Unit{NALUs: au, PTS: at.pts, Time: at.time}
		for _, n := range au {
			u.Size += len(n)
		}
		au = nil
		track.UpdateParams(u)
		t.s.met.transcodeFrames.WithLabelValues(t.out.id, "out").Inc()
		if m := t.out.mux.Load(); m != nil {
			if err := m.write(t.session, &track, u); err != nil {
				t.log.Debug("transcoded unit not muxed", "err", err)
			}
		}
	}
	var buf []byte
	chunk := make([]byte, 64<<10)
	for {
		n, err := br.Read(chunk)
		buf = append(buf, chunk[:n]...)
		// every complete NAL unit: the bytes up to the next start code
		for {
			s := startCodeAt(buf, 0)
			if s < 0 {
				break
			}
			e := startCodeAt(buf, s+3)
			if e < 0 {
				buf = buf[s:]
				break
			}
			nalu := bytes.TrimRight(buf[s+3:e], "\x00") // a 4-byte start code's leading zero
			buf = buf[e:]
			if len(nalu) == 0 {
				continue
			}
			if h264.NALUType(nalu[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
				emit()
				continue
			}
			au = append(au, append([]byte(nil), nalu...))
		}
		if err != nil {
			if len(buf) > 3 {
				if nalu := buf[startCodeAt(buf, 0)+3:]; startCodeAt(buf, 0) >= 0 && len(nalu) > 0 {
					au = append(au, append([]byte(nil), nalu...))
				}
			}
			emit()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// startCodeAt returns the index of the first 00 00 01 at or after i, or -1.
func startCodeAt(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	j := bytes.Index(b[i:], []byte{0, 0, 1})
	if j < 0 {
		return -1
	}
	return i + j
}

// cpuMeter reads a process's CPU time from /proc, so that /metrics shows
// what transcoding costs while it runs.
type cpuMeter struct {
	pid  int
	last float64
}

func newCPUMeter(pid int) *cpuMeter { return &cpuMeter{pid: pid} }

// clockTicks is USER_HZ, 100 on every Linux the node runs on.
const clockTicks = 100

func (c *cpuMeter) read() (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.pid))
	if err != nil {
		return 0, false
	}
	// fields after the command name, which may hold spaces: ") S ppid ..."
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // utime is field 14 of stat
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks, true
}

// delta is the CPU seconds used since the last call.
func (c *cpuMeter) delta() float64 {
	v, ok := c.read()
	if !ok || v < c.last {
		return 0
	}
	d := v - c.last
	c.last = v
	return d
}

// final is what the process used after the last delta.
func (c *cpuMeter) final(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	total := (ps.UserTime() + ps.SystemTime()).Seconds()
	if total < c.last {
		return 0
	}
	return total - c.last
}
