package anpr

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"sync"
	"time"

	"github.com/kuzet/kuzet/decode"
)

// Snapshot is a pass's evidence: the frame its best read came from.
type Snapshot struct {
	Frame *image.RGBA
	Pass  Pass
	// Source is "" for a pass only the node read, plates.SourceCamera or
	// plates.SourceNodeCamera for one the camera's own ANPR read too.
	Source string
	// External is the camera's best read of the pass: the most confident
	// of those with pictures, if any came with them (nil when the camera did
	// not read it).
	External *ExternalRead
	// Reads are the journal IDs of the camera reads that went into the
	// pass: released once its plate.read is stored.
	Reads []string
}

func (s *Snapshot) addRead(id string) {
	if id != "" {
		s.Reads = append(s.Reads, id)
	}
}

// AnalyzerOptions configure one camera's plate reading.
type AnalyzerOptions struct {
	Camera     string
	Models     *Models
	Recognizer Options
	Tracker    TrackerConfig
	Decoder    decode.Options
	Stream     StreamOptions
	ROI        image.Rectangle // empty: whole frame
	// OnPass receives one call per vehicle pass, from the analyzer's
	// goroutine; it must not block for long.
	OnPass func(Snapshot)
	Logger *slog.Logger
}

// Analyzer reads plates in one camera session: decoder → recogniser →
// tracker. It runs beside the recorder and never slows it: units it cannot
// take in time are dropped and counted.
type Analyzer struct {
	o      AnalyzerOptions
	dec    *decode.Decoder
	rec    *Recognizer
	cancel context.CancelFunc
	wg     sync.WaitGroup
	params [][]byte

	ext    chan externalMsg
	extMu  sync.RWMutex // held by External while it hands a read over, so Close knows none is left
	closed bool
	quit   chan struct{} // closed by Close

	mu     sync.Mutex
	frames uint64
	scans  uint64 // frames whose whole region of interest was scanned
	timing Timing
}

// StartAnalyzer starts the pipeline; params are the stream's parameter
// sets, in decoding order, for keyframes that do not carry them.
func StartAnalyzer(o AnalyzerOptions, params [][]byte) (*Analyzer, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rec, err := NewRecognizer(o.Models, o.Recognizer)
	if err != nil {
		return nil, err
	}
	o.Decoder.Logger = o.Logger
	a := &Analyzer{o: o, dec: decode.New(o.Decoder), rec: rec, params: params,
		ext: make(chan externalMsg, externalQueue), quit: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		a.dec.Run(ctx)
	}()
	go func() {
		defer a.wg.Done()
		a.loop()
	}()
	return a, nil
}

// Push hands over one access unit (see decode.Decoder.Push).
func (a *Analyzer) Push(nalus [][]byte, key bool, at time.Time) {
	a.dec.Push(nalus, a.params, key, at)
}

// Dropped counts units the analyzer could not take in time.
func (a *Analyzer) Dropped() uint64 {
	if a.dec == nil { // StartExternal: no frames
		return 0
	}
	return a.dec.Dropped()
}

// StartExternal merges a camera's own plate reads for a camera whose
// stream the node does not read: repeated reads of one vehicle become one
// pass (Source plates.SourceCamera), emitted through OnPass once no read of
// it came for the tracker's gap (default ExternalGap). Only Camera,
// Tracker, Recognizer.Countries, OnPass and Logger of o are used.
func StartExternal(o AnalyzerOptions) *Analyzer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Analyzer{o: o, ext: make(chan externalMsg, externalQueue), quit: make(chan struct{}), cancel: func() {}}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.loop()
	}()
	return a
}

// Close stops the pipeline and emits the passes still open.
func (a *Analyzer) Close() error {
	a.extMu.Lock()
	if !a.closed {
		a.closed = true
		close(a.quit)
	}
	a.extMu.Unlock()
	a.cancel()
	a.wg.Wait()
	if a.rec == nil {
		return nil
	}
	return a.rec.Close()
}

// ErrAnalyzerClosed is External's answer once the analyzer has stopped.
var ErrAnalyzerClosed = errors.New("plate reading of this camera has stopped")

// External hands over a plate read the camera made itself (its own ANPR).
// It goes through the goroutine that reads the frames, into the same
// tracking, so that a vehicle read by both the node and the camera, or by
// the camera several times, is one pass. Passes that include a camera read
// go to onPass, which stores the camera's pictures, rather than to OnPass.
// External fails once the analyzer is closed, and when ctx ends before the
// analyzer could take the read.
func (a *Analyzer) External(ctx context.Context, r ExternalRead, onPass func(Snapshot)) error {
	a.extMu.RLock()
	defer a.extMu.RUnlock()
	if a.closed {
		return ErrAnalyzerClosed
	}
	select {
	case a.ext <- externalMsg{r: r, onPass: onPass}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Analyzer) loop() {
	m := newMerger(a.o, a.dec != nil)
	var st *Stream
	var frames <-chan decode.Frame
	quit := a.quit
	if a.dec != nil {
		st = NewStream(a.rec, a.o.Stream)
		frames = a.dec.Frames()
		quit = nil // the decoder's end ends the loop, once its frames are read
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				m.drain(a.ext)
				return
			}
			reads, timing, err := st.Read(f.Img, a.o.ROI)
			if err != nil {
				a.o.Logger.Error("recognise frame", "err", err)
				continue
			}
			a.mu.Lock()
			a.frames++
			if timing.Scan {
				a.scans++
			}
			a.timing.Detect += timing.Detect
			a.timing.Recognize += timing.Recognize
			a.mu.Unlock()
			m.frame(f.Time, f.Img, reads, time.Now())
		case x := <-a.ext:
			m.external(x, time.Now())
		case now := <-tick.C:
			m.tick(now)
		case <-quit:
			m.drain(a.ext)
			return
		}
	}
}

// Stats reports frames analysed and the time spent in each stage.
func (a *Analyzer) Stats() (frames uint64, t Timing) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.frames, a.timing
}

// Scans reports how many of the frames analysed were scanned whole; the
// others were looked at only around plates seen just before.
func (a *Analyzer) Scans() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.scans
}
