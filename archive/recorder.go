package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

const (
	trackID = 1
	// A frame interval outside (0, maxFrameGap] is a timestamp jump: the
	// file timeline continues with the previous interval instead.
	maxFrameGap     = 5 * media.ClockRate
	defaultFrameDur = media.ClockRate / 25
	sampleOverhead  = 16 // trun entry bytes per sample, for size estimates
)

// Recorder writes one camera session into segment files. It is driven by
// one goroutine (WriteUnit, then Close).
type Recorder struct {
	a         *Archive
	camera    string
	track     media.Track
	gapReason string
	log       *slog.Logger

	h264DTS h264.DTSExtractor
	h265DTS h265.DTSExtractor

	started    bool      // a random-access unit with parameters has been seen
	anchorWall time.Time // wall clock of the session's first recorded unit
	lastDTS    int64
	lastDur    int64
	reCut      bool // parameters changed: start a new file at this keyframe
	gapChecked bool
	alarmed    bool // an archive_write_failed alarm is raised
	// failed is the first write error since a file last took video: each
	// file opened meanwhile restarts the clock from the wall clock at its
	// keyframe (the session timeline stood still while nothing was
	// written), and the hole is a gap saying why.
	failed error
	// gapDue: the hole before the current file is recorded once its first
	// fragment is written (a file that fails before that is no end to it)
	gapDue bool
	// suspended says why recording stopped on purpose (an event-recording
	// camera with nothing to record): the next keyframe resumes with the
	// wall clock it arrives at, and the hole is a gap saying why
	suspended string

	// current file
	file      *segFile
	rel       string
	fileStart time.Time
	fileTicks int64 // session ticks at the file's first sample
	size      int64
	sum       hash.Hash
	seqNo     uint32
	boundary  time.Time
	width     int
	height    int
	endTicks  int64 // session ticks after the last appended sample
	gopBytes  int64
	buf       seekablebuffer.Buffer
	header    []byte   // scratch: moof + mdat header
	lens      []byte   // scratch: AVCC length prefixes
	vecs      [][]byte // scratch: writev list
	part      []sample
	partTicks int64 // session ticks of the part's first sample
	partBytes int64
	partDur   int64
	pending   *sample // waits for the next unit to know its duration
	pendBuf   sample
	pendTicks int64
}

// NewRecorder starts recording a session of camera. gapReason explains the
// hole, if any, between the camera's last segment and this session.
func (a *Archive) NewRecorder(camera string, track media.Track, gapReason string) *Recorder {
	r := &Recorder{
		a: a, camera: camera, track: track.Clone(), gapReason: gapReason,
		log: a.o.Logger.With("camera", camera),
	}
	r.h264DTS.Initialize()
	r.h265DTS.Initialize()
	return r
}

// WriteUnit records one access unit. It returns an error only for a failed
// file write; the recorder then retries with a new file at the next keyframe.
func (r *Recorder) WriteUnit(u *media.Unit) error {
	ra := u.RandomAccess(r.track.Codec)
	changed, inband := r.track.UpdateParams(u)
	if !r.started {
		if !ra || !r.track.Ready() {
			r.skip("waiting_keyframe")
			return nil
		}
		r.started = true
		r.anchorWall = u.Time
		r.h264DTS.Initialize()
		r.h265DTS.Initialize()
		r.checkResolution()
	} else if changed && ra {
		r.checkResolution()
		r.reCut = true
	}

	dts, err := r.extractDTS(u, ra && !inband)
	if err != nil {
		r.skip("bad_timestamp")
		r.log.Debug("drop unit", "err", err)
		if !ra {
			return nil
		}
		r.h264DTS.Initialize()
		r.h265DTS.Initialize()
		if dts, err = r.extractDTS(u, !inband); err != nil {
			return nil
		}
	}

	now := int64(0)
	if r.pending != nil {
		d := dts - r.lastDTS
		if d <= 0 || d > maxFrameGap {
			d = r.lastDur
			if d == 0 {
				d = defaultFrameDur
			}
			r.skip("timestamp_jump")
		}
		r.lastDur = d
		r.pending.duration = uint32(d)
		r.appendPending()
		now = r.endTicks
	} else if r.started && r.endTicks > 0 {
		now = r.endTicks
	}
	r.lastDTS = dts

	if ra {
		if r.file != nil && (!r.wallAt(now).Before(r.boundary) || r.reCut || r.wouldExceed()) {
			err = r.finishFile()
		}
		r.reCut = false
		if r.file == nil {
			if (r.failed != nil || r.suspended != "") && !u.Time.IsZero() {
				// Nothing was appended since the failure, so the session
				// timeline stood still while the camera went on: the time
				// carried across it would date this file early by the
				// outage's length (issue 14). Restart from this keyframe.
				r.anchorWall = u.Time.Add(-ticksDuration(now))
			}
			if oerr := r.openFile(r.wallAt(now), now); oerr != nil {
				r.fail(oerr)
				return oerr
			}
		}
		r.gopBytes = 0
	}
	if r.file == nil {
		r.skip("waiting_keyframe")
		return err
	}

	s := &r.pendBuf
	if ferr := r.fill(s, u, dts, ra); ferr != nil {
		r.skip("bad_unit")
		return err
	}
	r.pending, r.pendTicks = s, now
	r.gopBytes += int64(s.size)
	if r.partDur >= int64(r.a.o.PartDuration)*media.ClockRate/int64(time.Second) {
		if ferr := r.flushPart(); ferr != nil {
			r.fail(ferr)
			return ferr
		}
	}
	return err
}

// Suspend finishes the current file, as Close does, and holds the
// recording until the next keyframe written: that one starts a new file
// at its own arrival time, and the hole between is a gap giving reason.
// Units written in between must come in their session's order; those
// skipped need not be written at all.
func (r *Recorder) Suspend(reason string) error {
	err := r.Close()
	r.suspended = reason
	r.pending = nil
	return err
}

// Close finishes the current file, indexing it.
func (r *Recorder) Close() error {
	if r.file == nil {
		return nil
	}
	if r.pending != nil {
		d := r.lastDur
		if d == 0 {
			d = defaultFrameDur
		}
		r.pending.duration = uint32(d)
		r.appendPending()
	}
	return r.finishFile()
}

func (r *Recorder) skip(reason string) {
	r.a.o.Metrics.FramesSkipped.WithLabelValues(r.camera, reason).Inc()
}

// extractDTS computes u's decoding time; addParams is set for a keyframe
// without its own SPS.
func (r *Recorder) extractDTS(u *media.Unit, addParams bool) (int64, error) {
	nalus := u.NALUs
	if addParams {
		// cameras and encoders that send parameter sets only in the SDP:
		// the extractor needs the SPS next to each keyframe
		nalus = append(r.track.ParamNALUs(), u.NALUs...)
	}
	switch r.track.Codec {
	case media.H265:
		return r.h265DTS.Extract(nalus, u.PTS)
	case media.MJPEG, media.MPEG4:
		return u.PTS, nil // no reordering: decoding order is presentation order
	}
	return r.h264DTS.Extract(nalus, u.PTS)
}

// fill makes s reference u's NAL units, without access unit delimiters
// (they carry nothing a player needs).
func (r *Recorder) fill(s *sample, u *media.Unit, dts int64, ra bool) error {
	*s = sample{nalus: make([][]byte, 0, len(u.NALUs)), ptsOff: int32(u.PTS - dts), sync: ra}
	if !r.track.Codec.NALUnits() {
		if len(u.NALUs) != 1 || len(u.NALUs[0]) == 0 {
			return errors.New("empty picture")
		}
		s.nalus, s.size, s.raw = append(s.nalus, u.NALUs[0]), uint32(len(u.NALUs[0])), true
		return nil
	}
	for _, n := range u.NALUs {
		if len(n) == 0 {
			continue
		}
		if r.track.Codec == media.H265 {
			if h265.NALUType((n[0]>>1)&0b111111) == h265.NALUType_AUD_NUT {
				continue
			}
		} else if h264.NALUType(n[0]&0x1f) == h264.NALUTypeAccessUnitDelimiter {
			continue
		}
		s.nalus = append(s.nalus, n)
		s.size += 4 + uint32(len(n))
	}
	if len(s.nalus) == 0 {
		return errors.New("empty access unit")
	}
	return nil
}

func (r *Recorder) wallAt(ticks int64) time.Time {
	return r.anchorWall.Add(ticksDuration(ticks))
}

// ticksDuration converts 90 kHz ticks to a duration without overflowing
// (ticks × 1e9 would after 28 hours of one session).
func ticksDuration(ticks int64) time.Duration {
	return time.Duration(ticks/media.ClockRate)*time.Second + time.Duration(ticks%media.ClockRate)*time.Second/media.ClockRate
}

func (r *Recorder) appendPending() {
	if len(r.part) == 0 {
		r.partTicks = r.pendTicks
	}
	r.part = append(r.part, *r.pending)
	r.partBytes += int64(r.pending.size) + sampleOverhead
	r.partDur += int64(r.pending.duration)
	r.endTicks = r.pendTicks + int64(r.pending.duration)
	r.pending = nil
}

// wouldExceed estimates, at a keyframe, whether one more GOP like the last
// one would push the file past the size cap (CGR-4.2b): then cut now.
func (r *Recorder) wouldExceed() bool {
	projected := r.size + r.partBytes + r.gopBytes + r.gopBytes/8
	return projected > r.a.o.MaxFileBytes
}

func (r *Recorder) checkResolution() {
	w, h, ok := r.track.Resolution()
	if !ok {
		r.log.Warn("cannot parse SPS; resolution unknown")
		return
	}
	r.width, r.height = w, h
	o := r.a.o
	if o.MaxWidth > 0 && (w > o.MaxWidth || h > o.MaxHeight) {
		msg := fmt.Sprintf("camera %s streams %dx%d, above the archive limit %dx%d (CGR-4.2b); "+
			"recording anyway, configure its sub-stream or a smaller profile", r.camera, w, h, o.MaxWidth, o.MaxHeight)
		r.log.Warn(msg)
		r.a.emit(event.New(event.KindAlarmRaised, r.camera, event.SeverityMinor, event.Alarm{
			Key: event.AlarmResolutionExceeded + ":" + r.camera, Type: event.AlarmResolutionExceeded, Message: msg}))
	}
}

func (r *Recorder) codec() mp4.Codec {
	switch r.track.Codec {
	case media.H265:
		return &mp4.CodecH265{VPS: r.track.VPS, SPS: r.track.SPS, PPS: r.track.PPS}
	case media.MJPEG:
		return &mp4.CodecMJPEG{Width: r.track.Width, Height: r.track.Height}
	case media.MPEG4:
		return &mp4.CodecMPEG4Video{Config: r.track.Config}
	}
	return &mp4.CodecH264{SPS: r.track.SPS, PPS: r.track.PPS}
}

// openFile starts a segment whose first sample is a keyframe at wall.
func (r *Recorder) openFile(wall time.Time, ticks int64) error {
	a := r.a
	if !validKey(r.camera) {
		// configured camera IDs always match; a name such as ".replicas"
		// would reach into the replicas' namespace
		return fmt.Errorf("camera %q is not a camera ID: it cannot be recorded", r.camera)
	}
	var rel string
	for v := 0; ; v++ {
		rel = SegmentPath(r.camera, wall, a.o.Location, v)
		taken, err := a.index.PathTaken(r.camera, rel, wall)
		if err != nil {
			return fmt.Errorf("check segment path %s: %w", rel, err)
		}
		if _, serr := os.Stat(a.Abs(rel)); !taken && errors.Is(serr, fs.ErrNotExist) {
			break
		}
	}
	abs := a.Abs(rel)
	dir := filepath.Dir(abs)
	if err := a.mkdirDurable(dir); err != nil {
		return fmt.Errorf("create segment directory %s: %w", dir, err)
	}
	if err := a.fault("create", abs); err != nil {
		return fmt.Errorf("create segment %s: %w", rel, err)
	}
	// The open record is durable before the file exists, so a crash at any
	// point after this leaves something repair can find.
	if err := a.index.markOpen(openSegment{Camera: r.camera, Start: wall.UTC(), Path: rel, Codec: string(r.track.Codec)}); err != nil {
		return fmt.Errorf("record open segment %s: %w", rel, err)
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err == nil {
		if err = a.ownFile(f); err != nil {
			_ = f.Close()
			_ = os.Remove(abs)
		}
	}
	if err != nil {
		_ = a.index.dropOpen(rel)
		return fmt.Errorf("create segment %s: %w", rel, err)
	}
	r.file = &segFile{f: f}
	r.rel, r.fileStart, r.fileTicks = rel, wall.UTC(), ticks
	a.setCurrent(r.camera, &openSegment{Camera: r.camera, Start: r.fileStart, Path: rel})
	r.size, r.sum, r.seqNo = 0, sha256.New(), 1
	r.endTicks = ticks
	r.boundary = nextBoundary(wall, a.o.Segment, a.o.Location)
	r.part, r.partBytes, r.partDur = r.part[:0], 0, 0

	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: trackID, TimeScale: media.ClockRate, Codec: r.codec()}}}
	r.buf.Reset()
	if err := init.Marshal(&r.buf); err != nil {
		return fmt.Errorf("encode init of %s: %w", rel, err)
	}
	if err := r.write(r.buf.Bytes()); err != nil {
		return err
	}
	a.grown(r.camera, r.size)
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	r.log.Debug("segment opened", "path", rel)
	r.gapDue = true
	return nil
}

// noteGap records the hole before the current file once it holds video:
// the one before the session (once), and the one a write failure made.
// The disk takes writes again by then, so files a read-only spell left
// open are repaired first, and the hole is measured from what they hold.
func (r *Recorder) noteGap() {
	if !r.gapDue {
		return
	}
	r.gapDue = false
	r.a.repairDeferred()
	wall := r.fileStart
	reason := ""
	switch {
	case !r.gapChecked && r.failed != nil:
		reason = fmt.Sprintf("%s; then write failed: %v", r.gapReason, r.failed)
	case !r.gapChecked:
		reason = r.gapReason
	case r.failed != nil:
		reason = fmt.Sprintf("write failed: %v", r.failed)
	case r.suspended != "":
		reason = r.suspended
	default:
		return
	}
	r.gapChecked, r.failed, r.suspended = true, nil, ""
	r.a.recordGap(r.camera, wall, reason)
}

func (r *Recorder) write(b []byte) error {
	if err := r.a.fault("write", r.rel); err != nil {
		return fmt.Errorf("write segment %s: %w", r.rel, err)
	}
	n, err := r.file.f.Write(b)
	r.size += int64(n)
	r.sum.Write(b[:n])
	r.a.o.Metrics.BytesWritten.WithLabelValues(r.camera).Add(float64(n))
	if err != nil {
		return fmt.Errorf("write segment %s: %w", r.rel, err)
	}
	r.a.syncer.markDirty(r.file)
	return nil
}

// flushPart writes the buffered samples as one moof+mdat fragment.
func (r *Recorder) flushPart() error {
	if len(r.part) == 0 {
		return nil
	}
	var err error
	r.header, err = appendFragmentHeader(r.header[:0], r.seqNo, trackID, uint64(r.partTicks-r.fileTicks), r.part)
	if err != nil {
		return fmt.Errorf("fragment of %s: %w", r.rel, err)
	}
	if err := r.a.fault("write", r.rel); err != nil {
		return fmt.Errorf("write segment %s: %w", r.rel, err)
	}
	r.vecs, r.lens = fragmentVecs(r.header, r.part, r.lens, r.vecs)
	n, err := writeVecs(r.file.f, r.sum, r.vecs)
	r.size += n
	r.a.o.Metrics.BytesWritten.WithLabelValues(r.camera).Add(float64(n))
	if err != nil {
		return fmt.Errorf("write segment %s: %w", r.rel, err)
	}
	r.a.syncer.markDirty(r.file)
	r.a.grown(r.camera, r.size)
	r.noteGap()
	r.seqNo++
	r.a.o.Metrics.FramesWritten.WithLabelValues(r.camera).Add(float64(len(r.part)))
	clear(r.part) // release the units' memory now
	clear(r.vecs)
	r.part, r.partBytes, r.partDur = r.part[:0], 0, 0
	return nil
}

// finishFile flushes, syncs, closes and indexes the current file.
func (r *Recorder) finishFile() error {
	ferr := r.flushPart()
	if ferr != nil {
		r.fail(ferr)
		return ferr
	}
	r.noteGap() // a file too short for a fragment of its own
	a := r.a
	a.syncer.forget(r.file)
	if err := r.file.close(); err != nil {
		r.fail(err) // the data may not be durable: repair decides what is
		return err
	}
	r.file = nil
	seg := Segment{
		Camera: r.camera, Start: r.fileStart, End: r.wallAt(r.endTicks).UTC(), Path: r.rel,
		Bytes: r.size, SHA256: hex.EncodeToString(r.sum.Sum(nil)), Codec: string(r.track.Codec),
		Width: r.width, Height: r.height,
	}
	err := a.index.closeSegment(seg)
	// Locate finds the file as the one being written until the index
	// lists it: a plate read at the cut is never left without its file
	a.setCurrent(r.camera, nil)
	if err != nil {
		return fmt.Errorf("index segment %s: %w", r.rel, err)
	}
	a.o.Metrics.SegmentsClosed.WithLabelValues(r.camera).Inc()
	a.emit(event.New(event.KindSegmentClosed, r.camera, event.SeverityInfo, seg))
	if r.alarmed {
		r.alarmed = false
		a.emit(event.New(event.KindAlarmCleared, r.camera, event.SeverityInfo, event.Alarm{
			Key: event.AlarmArchiveWrite + ":" + r.camera, Type: event.AlarmArchiveWrite,
			Message: fmt.Sprintf("recording of %s works again", r.camera)}))
	}
	r.log.Debug("segment closed", "path", seg.Path, "bytes", seg.Bytes, "duration", seg.Duration())
	return nil
}

// fail handles a write error: an open file is closed and repaired to its
// last complete fragment right away, and the next keyframe opens a new file.
// The alarm is raised once until a file closes cleanly again.
func (r *Recorder) fail(err error) {
	a := r.a
	a.o.Metrics.WriteErrors.WithLabelValues(r.camera).Inc()
	r.log.Error("archive write failed", "err", err)
	if r.failed == nil {
		r.failed = err
	}
	if !r.alarmed {
		r.alarmed = true
		a.emit(event.New(event.KindAlarmRaised, r.camera, event.SeverityGrave, event.Alarm{
			Key: event.AlarmArchiveWrite + ":" + r.camera, Type: event.AlarmArchiveWrite,
			Message: fmt.Sprintf("recording of %s failed: %v", r.camera, err)}))
	}
	if r.file != nil {
		a.setCurrent(r.camera, nil)
		a.syncer.forget(r.file)
		_ = r.file.close()
		r.file = nil
		a.repairOne(openSegment{Camera: r.camera, Start: r.fileStart, Path: r.rel, Codec: string(r.track.Codec)})
	}
	r.pending, r.part = nil, r.part[:0]
	r.partBytes, r.partDur = 0, 0
}
