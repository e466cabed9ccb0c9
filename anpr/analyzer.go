package anpr

import (
	"context"
	"image"
	"log/slog"
	"sync"
	"time"
)

// Snapshot is a pass's evidence: the frame its best read came from.
type Snapshot struct {
	Frame *image.RGBA
	Pass  Pass
}

// AnalyzerOptions configure one camera's plate reading.
type AnalyzerOptions struct {
	Camera     string
	Models     *Models
	Recognizer Options
	Tracker    TrackerConfig
	Decoder    DecoderOptions
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
	dec    *Decoder
	rec    *Recognizer
	cancel context.CancelFunc
	wg     sync.WaitGroup
	params [][]byte

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
	a := &Analyzer{o: o, dec: NewDecoder(o.Decoder), rec: rec, params: params}
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

// Push hands over one access unit (see Decoder.Push).
func (a *Analyzer) Push(nalus [][]byte, key bool, at time.Time) {
	a.dec.Push(nalus, a.params, key, at)
}

// Dropped counts units the analyzer could not take in time.
func (a *Analyzer) Dropped() uint64 { return a.dec.Dropped() }

// Close stops the pipeline and emits the passes still open.
func (a *Analyzer) Close() error {
	a.cancel()
	a.wg.Wait()
	return a.rec.Close()
}

func (a *Analyzer) loop() {
	tr := NewTracker(a.o.Tracker)
	st := NewStream(a.rec, a.o.Stream)
	// the frame each pass's best read came from, kept until the pass ends
	frames := map[time.Time]*image.RGBA{}
	emit := func(passes []Pass) {
		for _, p := range passes {
			if a.o.OnPass != nil {
				a.o.OnPass(Snapshot{Frame: frames[p.BestAt], Pass: p})
			}
		}
		// keep only the frames that are some open pass's best so far
		for t := range frames {
			if !tr.HoldsFrame(t) {
				delete(frames, t)
			}
		}
	}
	for f := range a.dec.Frames() {
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
		if len(reads) > 0 {
			frames[f.Time] = f.Img
		}
		emit(tr.Observe(f.Time, reads))
	}
	emit(tr.Flush())
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
