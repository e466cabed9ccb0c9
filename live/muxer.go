package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/kuzet/kuzet/media"
)

const (
	trackID = 1
	// A frame interval outside (0, maxFrameGap] is a timestamp jump: the
	// timeline continues with the previous interval instead.
	maxFrameGap     = 5 * media.ClockRate
	defaultFrameDur = media.ClockRate / 25
)

var (
	errStopped = errors.New("live view stopped")
	errTimeout = errors.New("timed out")
)

// part is one LL-HLS partial segment: a moof+mdat fragment.
type part struct {
	id          uint64 // global part number, the URI
	data        []byte
	dur         int64 // ticks
	independent bool  // starts with a keyframe
}

// initSection is the fMP4 initialisation section for one set of parameters.
type initSection struct {
	version uint64
	data    []byte
	params  [][]byte
}

// segment is a run of parts starting with a keyframe. Only the last one of
// a muxer can be incomplete.
type segment struct {
	msn           uint64
	init          *initSection
	discontinuity bool      // follows a new session or new parameters
	start         time.Time // wall clock of the first frame
	startDTS      int64
	parts         []*part
	dur           int64 // sum of the parts
	complete      bool
}

// counters outlive a muxer, so that a restarted one never reuses a URI
// that a player may still hold.
type counters struct {
	msn, part, init, disc uint64
}

// sample is a frame of the open part.
type sample struct {
	fmp4.Sample
	dts int64 // muxer timeline
	ra  bool
}

// muxer turns one camera's access units into LL-HLS segments and parts and
// answers (blocking) questions about them. The sink goroutine writes; HTTP
// handlers read and wait.
type muxer struct {
	camera    string
	partTicks int64
	segTicks  int64
	maxSegs   int
	met       *camMetrics
	log       *slog.Logger

	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	closed     bool
	cnt        counters
	init       *initSection
	segs       []*segment
	maxSegDur  int64
	maxPartDur int64
	playlist   []byte // rendered; nil after a change

	// input state, owned by the session that feeds the muxer
	session   uint64
	track     media.Track
	waitKey   bool
	dts264    h264.DTSExtractor
	dts265    h265.DTSExtractor
	offset    int64 // muxer timeline = session DTS + offset
	lastDTS   int64 // session DTS of the last frame
	lastDur   int64 // last frame interval: the estimate for the newest frame
	end       int64 // where the next frame is expected on the muxer timeline
	breakNext bool  // the next segment follows a break
	pend      []sample
	buf       seekablebuffer.Buffer
}

func newMuxer(camera string, o *Options, cnt counters, met *camMetrics, log *slog.Logger) *muxer {
	return &muxer{
		camera:    camera,
		partTicks: ticks(o.Part),
		segTicks:  ticks(o.Segment),
		maxSegs:   o.Segments,
		met:       met,
		log:       log,
		changed:   make(chan struct{}),
		cnt:       cnt,
		waitKey:   true,
	}
}

func ticks(d time.Duration) int64 {
	return int64(d) * media.ClockRate / int64(time.Second)
}

// write adds one access unit of session to the muxer.
func (m *muxer) write(session uint64, tr *media.Track, u *media.Unit) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	if session != m.session {
		m.beginSession(session, tr)
	}
	ra := u.RandomAccess(m.track.Codec)
	_, inband := m.track.UpdateParams(u)
	if m.waitKey && (!ra || !m.track.Ready()) {
		m.met.skipped.WithLabelValues(m.camera, "waiting_keyframe").Inc()
		return nil
	}
	if m.waitKey {
		m.resetDTS()
	}
	dts, err := m.extractDTS(u, ra && !inband)
	if err != nil && ra {
		// a keyframe restarts the extractor's reference
		m.resetDTS()
		dts, err = m.extractDTS(u, !inband)
	}
	if err != nil {
		m.met.skipped.WithLabelValues(m.camera, "bad_timestamp").Inc()
		m.log.Debug("drop unit", "err", err)
		return nil
	}

	if m.waitKey {
		// continue where the timeline stopped, so that a reconnect or a
		// restart is seamless for players
		m.offset = m.end - dts
		m.lastDur = m.frameDur()
		m.waitKey = false
	} else {
		d := dts - m.lastDTS
		if d <= 0 || d > maxFrameGap {
			m.met.jumps.WithLabelValues(m.camera).Inc()
			d = m.lastDur
			m.offset = m.lastDTS + m.offset + d - dts
		}
		if n := len(m.pend); n > 0 {
			m.pend[n-1].Duration = uint32(d)
		}
		m.lastDur = d
	}
	m.lastDTS = dts
	t := dts + m.offset

	if ra {
		if err := m.keyframe(t, u.Time); err != nil {
			m.waitKey = true
			return err
		}
	}
	cur := m.open()
	if cur == nil {
		m.met.skipped.WithLabelValues(m.camera, "waiting_keyframe").Inc()
		return nil
	}
	s := sample{dts: t, ra: ra}
	if err := m.fill(&s, u); err != nil {
		m.met.skipped.WithLabelValues(m.camera, "bad_unit").Inc()
		return nil
	}
	s.Duration = uint32(m.lastDur)
	m.pend = append(m.pend, s)
	m.end = t + m.lastDur
	// Close the part as soon as one more frame would not fit: the frame
	// just added is delivered now instead of one frame later.
	var dur int64
	for _, p := range m.pend {
		dur += int64(p.Duration)
	}
	if dur+m.lastDur > m.partTicks {
		return m.closePart()
	}
	return nil
}

// keyframe starts a new segment at t when the open one is long enough or
// the parameters changed.
func (m *muxer) keyframe(t int64, wall time.Time) error {
	newInit := m.init == nil || !sameParams(m.init.params, m.track.ParamNALUs())
	if cur := m.open(); cur != nil && (newInit || m.breakNext || t-cur.startDTS >= m.segTicks) {
		if err := m.closePart(); err != nil {
			return err
		}
		m.complete(cur)
	}
	if newInit {
		in, err := m.makeInit()
		if err != nil {
			return err
		}
		if m.init != nil {
			m.breakNext = true
		}
		m.init = in
	}
	if m.open() == nil {
		m.segs = append(m.segs, &segment{
			msn: m.cnt.msn, init: m.init, start: wall, startDTS: t,
			discontinuity: m.breakNext && len(m.segs) > 0,
		})
		m.cnt.msn++
		m.breakNext = false
	}
	return nil
}

func sameParams(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func (m *muxer) makeInit() (*initSection, error) {
	var codec mp4.Codec = &mp4.CodecH264{SPS: m.track.SPS, PPS: m.track.PPS}
	if m.track.Codec == media.H265 {
		codec = &mp4.CodecH265{VPS: m.track.VPS, SPS: m.track.SPS, PPS: m.track.PPS}
	}
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: trackID, TimeScale: media.ClockRate, Codec: codec}}}
	var buf seekablebuffer.Buffer
	if err := init.Marshal(&buf); err != nil {
		return nil, fmt.Errorf("encode init section of %s: %w", m.camera, err)
	}
	m.cnt.init++
	tr := m.track.Clone()
	return &initSection{version: m.cnt.init, data: buf.Bytes(), params: tr.ParamNALUs()}, nil
}

// frameDur guesses the first frame's duration from the SPS timing info.
func (m *muxer) frameDur() int64 {
	var fps float64
	if m.track.Codec == media.H265 {
		var s h265.SPS
		if s.Unmarshal(m.track.SPS) == nil {
			fps = s.FPS()
		}
	} else {
		var s h264.SPS
		if s.Unmarshal(m.track.SPS) == nil {
			fps = s.FPS()
		}
	}
	if fps >= 1 && fps <= 240 {
		return int64(media.ClockRate / fps)
	}
	return defaultFrameDur
}

// resetDTS forgets the previous frames (Initialize alone keeps the last
// DTS, which a new RTP timeline would contradict).
func (m *muxer) resetDTS() {
	m.dts264 = h264.DTSExtractor{}
	m.dts264.Initialize()
	m.dts265 = h265.DTSExtractor{}
	m.dts265.Initialize()
}

func (m *muxer) extractDTS(u *media.Unit, addParams bool) (int64, error) {
	nalus := u.NALUs
	if addParams {
		// the extractor needs the SPS next to each keyframe; some cameras
		// send it only in the SDP
		nalus = append(m.track.ParamNALUs(), u.NALUs...)
	}
	if m.track.Codec == media.H265 {
		return m.dts265.Extract(nalus, u.PTS)
	}
	return m.dts264.Extract(nalus, u.PTS)
}

// fill encodes u's NAL units, without access unit delimiters, into s.
func (m *muxer) fill(s *sample, u *media.Unit) error {
	nalus := make([][]byte, 0, len(u.NALUs))
	for _, n := range u.NALUs {
		if len(n) == 0 {
			continue
		}
		if m.track.Codec == media.H265 {
			if len(n) < 2 || h265.NALUType((n[0]>>1)&0b111111) == h265.NALUType_AUD_NUT {
				continue
			}
		} else if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			continue
		}
		nalus = append(nalus, n)
	}
	if len(nalus) == 0 {
		return errors.New("empty access unit")
	}
	payload, err := h264.AVCC(nalus).Marshal()
	if err != nil {
		return err
	}
	s.Payload = payload
	s.PTSOffset = int32(u.PTS + m.offset - s.dts)
	s.IsNonSyncSample = !s.ra
	return nil
}

// open returns the incomplete last segment, or nil.
func (m *muxer) open() *segment {
	if n := len(m.segs); n > 0 && !m.segs[n-1].complete {
		return m.segs[n-1]
	}
	return nil
}

// closePart turns the pending frames into a part of the open segment.
func (m *muxer) closePart() error {
	cur := m.open()
	if len(m.pend) == 0 || cur == nil {
		return nil
	}
	samples := make([]*fmp4.Sample, len(m.pend))
	var dur int64
	for i := range m.pend {
		samples[i] = &m.pend[i].Sample
		dur += int64(m.pend[i].Duration)
	}
	p := fmp4.Part{SequenceNumber: uint32(m.cnt.part), Tracks: []*fmp4.PartTrack{{
		ID: trackID, BaseTime: uint64(m.pend[0].dts), Samples: samples,
	}}}
	m.buf.Reset()
	if err := p.Marshal(&m.buf); err != nil {
		m.pend = m.pend[:0]
		return fmt.Errorf("encode part of %s: %w", m.camera, err)
	}
	cur.parts = append(cur.parts, &part{
		id: m.cnt.part, data: bytes.Clone(m.buf.Bytes()), dur: dur, independent: m.pend[0].ra,
	})
	cur.dur += dur
	m.cnt.part++
	m.maxPartDur = max(m.maxPartDur, dur)
	clear(m.pend) // release the payloads
	m.pend = m.pend[:0]
	m.met.parts.WithLabelValues(m.camera).Inc()
	m.changedLocked()
	return nil
}

// complete closes segment s and drops the oldest ones beyond the window.
func (m *muxer) complete(s *segment) {
	if len(s.parts) == 0 {
		// nothing was ever listed for it: give its number back
		m.segs = m.segs[:len(m.segs)-1]
		m.cnt.msn--
		m.breakNext = m.breakNext || s.discontinuity
		return
	}
	s.complete = true
	m.maxSegDur = max(m.maxSegDur, s.dur)
	// HLS: a segment may leave the playlist only if what stays lasts at
	// least three target durations.
	keep := 3 * int64(m.targetDuration()) * media.ClockRate
	for len(m.segs) > m.maxSegs {
		var rest int64
		for _, t := range m.segs[1:] {
			rest += t.dur
		}
		if rest < keep {
			break
		}
		// the sequence numbers of what stays must not change
		if m.segs[0].discontinuity {
			m.cnt.disc++
		}
		m.segs[0] = nil
		m.segs = m.segs[1:]
	}
	m.changedLocked()
}

// endSession flushes what session left, so viewers get its last frames.
func (m *muxer) endSession(session uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if session == m.session {
		m.flushSession()
	}
}

func (m *muxer) flushSession() {
	if err := m.closePart(); err != nil {
		m.log.Warn("live part lost", "err", err)
	}
	if cur := m.open(); cur != nil {
		m.complete(cur)
	}
	m.waitKey = true
	m.breakNext = len(m.segs) > 0
}

func (m *muxer) beginSession(session uint64, tr *media.Track) {
	m.flushSession()
	m.session = session
	m.track = tr.Clone()
}

func (m *muxer) changedLocked() {
	m.playlist = nil
	close(m.changed)
	m.changed = make(chan struct{})
}

// stop wakes every waiter and returns the counters for the next muxer.
func (m *muxer) stop() counters {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.changed)
		if len(m.segs) > 0 {
			// the next muxer's playlist does not continue this one's
			m.cnt.disc++
		}
		m.segs, m.pend = nil, nil
	}
	return m.cnt
}

// await blocks until ready (called with the lock held) holds, the muxer
// stops, ctx ends or timeout passes.
func (m *muxer) await(ctx context.Context, timeout time.Duration, ready func() bool) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return errStopped
		}
		if ready() {
			m.mu.Unlock()
			return nil
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return errTimeout
		}
	}
}

// hasContent reports whether a complete segment exists: players without
// LL-HLS support need one to start.
func (m *muxer) hasContent() bool {
	return len(m.segs) > 0 && m.segs[0].complete
}

// has reports whether the playlist already holds segment msn (complete)
// or, with hasPart, part partIdx of it. A part index past the last part of
// a complete segment means part 0 of the next segment (RFC 8216bis 6.2.5.2).
func (m *muxer) has(msn, partIdx uint64, hasPart bool) bool {
	if len(m.segs) == 0 {
		return false
	}
	if msn < m.segs[0].msn {
		return true
	}
	for {
		s := m.segment(msn)
		if s == nil {
			return false
		}
		if !hasPart {
			return s.complete
		}
		if partIdx < uint64(len(s.parts)) {
			return true
		}
		if !s.complete {
			return false
		}
		msn, partIdx = msn+1, 0
	}
}

// segment returns segment msn if it is in the window.
func (m *muxer) segment(msn uint64) *segment {
	if len(m.segs) == 0 || msn < m.segs[0].msn {
		return nil
	}
	i := msn - m.segs[0].msn
	if i >= uint64(len(m.segs)) {
		return nil
	}
	return m.segs[i]
}

// lastListed returns the last segment the playlist shows: complete, or
// with at least one part.
func (m *muxer) lastListed() *segment {
	for i := len(m.segs) - 1; i >= 0; i-- {
		if s := m.segs[i]; s.complete || len(s.parts) > 0 {
			return s
		}
	}
	return nil
}

// findPart returns part id if it is in the window.
func (m *muxer) findPart(id uint64) *part {
	for i := len(m.segs) - 1; i >= 0; i-- {
		ps := m.segs[i].parts
		if len(ps) == 0 || id < ps[0].id {
			continue
		}
		if j := id - ps[0].id; j < uint64(len(ps)) {
			return ps[j]
		}
		return nil
	}
	return nil
}

// targetDuration is EXT-X-TARGETDURATION: every EXTINF rounded to the
// nearest second fits in it.
func (m *muxer) targetDuration() int {
	td := int((m.maxSegDur + media.ClockRate/2) / media.ClockRate)
	return max(td, 1)
}

// partTarget is PART-TARGET in ticks: the configured one unless a frame is
// longer (a camera at a few frames per second), rounded up to 1 ms.
func (m *muxer) partTarget() int64 {
	pt := max(m.partTicks, m.maxPartDur)
	const ms = media.ClockRate / 1000
	return (pt + ms - 1) / ms * ms
}

// holdTimeout is how long a blocking request waits: players give up after
// three target durations.
func (m *muxer) holdTimeout() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return max(3*time.Duration(m.targetDuration())*time.Second, 3*time.Second)
}
