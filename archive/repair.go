package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// Layout is the box structure of a fragmented MP4 file as far as it is
// complete: ftyp, moov, then moof+mdat pairs.
type Layout struct {
	InitEnd   int64 // end of moov; 0 if the init section is incomplete
	Good      int64 // end of the last complete moof+mdat pair (or InitEnd)
	Fragments int   // complete moof+mdat pairs
	LastMoof  int64 // offset of the last complete fragment's moof
}

// ErrNotFMP4 means the file does not start like a file this archive writes.
var ErrNotFMP4 = errors.New("not a fragmented MP4 file (expected ftyp, moov, then moof+mdat)")

// ScanLayout walks top-level boxes, stopping at the first incomplete or
// unexpected one. It never reads past size.
func ScanLayout(r io.ReaderAt, size int64) (Layout, error) {
	var l Layout
	var hdr [16]byte
	off := int64(0)
	state := "ftyp"
	var moofOff int64
	for off+8 <= size {
		if _, err := r.ReadAt(hdr[:8], off); err != nil {
			return l, fmt.Errorf("read box header at %d: %w", off, err)
		}
		boxSize := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		hlen := int64(8)
		if state == "ftyp" && typ != "ftyp" {
			return l, ErrNotFMP4
		}
		switch boxSize {
		case 0: // "to end of file": a writer that died before fixing the size
			return l, nil
		case 1:
			if off+16 > size {
				return l, nil
			}
			if _, err := r.ReadAt(hdr[8:16], off+8); err != nil {
				return l, fmt.Errorf("read box size at %d: %w", off, err)
			}
			boxSize = int64(binary.BigEndian.Uint64(hdr[8:16]))
			hlen = 16
		}
		if boxSize < hlen || boxSize > size-off {
			return l, nil // truncated (or corrupt) box: stop before it
		}
		end := off + boxSize
		switch {
		case state == "ftyp" && typ == "ftyp":
			state = "moov"
		case state == "moov" && typ == "moov":
			l.InitEnd, l.Good = end, end
			state = "moof"
		case state == "moof" && typ == "moof":
			moofOff = off
			state = "mdat"
		case state == "mdat" && typ == "mdat":
			l.Good = end
			l.Fragments++
			l.LastMoof = moofOff
			state = "moof"
		default:
			if l.InitEnd == 0 {
				return l, ErrNotFMP4
			}
			return l, nil // unexpected box after valid data: drop the rest
		}
		off = end
	}
	return l, nil
}

// RepairResult describes a file after repair.
type RepairResult struct {
	Bytes     int64
	Dropped   int64 // bytes cut off the end
	Fragments int
	Duration  time.Duration
	SHA256    string
	Codec     string
	Width     int
	Height    int
}

// RepairFile truncates a segment to its last complete fragment, makes the
// result durable and describes it. A file without one complete fragment
// yields Fragments == 0 and is left for the caller to delete.
func RepairFile(path string) (RepairResult, error) {
	var res RepairResult
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return res, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("stat %s: %w", path, err)
	}
	l, err := ScanLayout(f, st.Size())
	if err != nil {
		return res, fmt.Errorf("scan %s: %w", path, err)
	}
	res.Fragments = l.Fragments
	if l.Fragments == 0 {
		return res, nil
	}
	initBytes := make([]byte, l.InitEnd)
	if _, err := f.ReadAt(initBytes, 0); err != nil {
		return res, fmt.Errorf("read init of %s: %w", path, err)
	}
	var init fmp4.Init
	if err := init.Unmarshal(bytes.NewReader(initBytes)); err != nil || len(init.Tracks) == 0 {
		return res, fmt.Errorf("parse init of %s: %v", path, err)
	}
	tr := init.Tracks[0]
	res.Codec, res.Width, res.Height = describeCodec(tr.Codec)

	last := make([]byte, l.Good-l.LastMoof)
	if _, err := f.ReadAt(last, l.LastMoof); err != nil {
		return res, fmt.Errorf("read last fragment of %s: %w", path, err)
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(last); err != nil || len(parts) == 0 || len(parts[0].Tracks) == 0 {
		return res, fmt.Errorf("parse last fragment of %s: %v", path, err)
	}
	pt := parts[0].Tracks[0]
	ticks := pt.BaseTime
	for _, s := range pt.Samples {
		ticks += uint64(s.Duration)
	}
	res.Duration = time.Duration(ticks) * time.Second / time.Duration(tr.TimeScale)

	res.Dropped = st.Size() - l.Good
	if res.Dropped > 0 {
		if err := f.Truncate(l.Good); err != nil {
			return res, fmt.Errorf("truncate %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("sync %s: %w", path, err)
	}
	res.Bytes = l.Good
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, l.Good)); err != nil {
		return res, fmt.Errorf("hash %s: %w", path, err)
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	return res, nil
}

func describeCodec(c mp4.Codec) (string, int, int) {
	switch c := c.(type) {
	case *mp4.CodecH264:
		var s h264.SPS
		if s.Unmarshal(c.SPS) == nil {
			return "h264", s.Width(), s.Height()
		}
		return "h264", 0, 0
	case *mp4.CodecH265:
		var s h265.SPS
		if s.Unmarshal(c.SPS) == nil {
			return "h265", s.Width(), s.Height()
		}
		return "h265", 0, 0
	case *mp4.CodecMJPEG:
		return string(media.MJPEG), c.Width, c.Height
	case *mp4.CodecMPEG4Video:
		l, _ := media.ParseMPEG4Layer(c.Config)
		return string(media.MPEG4), l.Width, l.Height
	}
	return fmt.Sprintf("%T", c), 0, 0
}

// repairDeferred repairs the files a read-only spell left open; a
// recorder calls it once it has opened a file again.
func (a *Archive) repairDeferred() {
	a.mu.Lock()
	if len(a.deferred) == 0 {
		a.mu.Unlock()
		return
	}
	todo := a.deferred
	a.deferred = map[string]openSegment{}
	a.mu.Unlock()
	for _, o := range todo {
		a.repairOne(o)
	}
}

// repairOpen repairs and indexes every file a crash left open (NVMS-6.9).
func (a *Archive) repairOpen() error {
	recs, err := a.index.openRecords()
	if err != nil {
		return fmt.Errorf("read open segments: %w", err)
	}
	for _, o := range recs {
		a.repairOne(o)
	}
	return nil
}

// repairOne turns an open record into an indexed segment, or drops it when
// nothing in the file is recoverable.
func (a *Archive) repairOne(o openSegment) {
	log := a.o.Logger.With("camera", o.Camera, "path", o.Path)
	abs := a.Abs(o.Path)
	res, err := RepairResult{}, a.fault("repair", abs)
	if err == nil {
		res, err = RepairFile(abs)
	}
	if errors.Is(err, syscall.EROFS) {
		// nothing can be cut or removed now; the file keeps its open
		// record and is repaired once the disk takes writes again
		log.Warn("file system read-only: segment left open until it can be repaired", "err", err)
		a.mu.Lock()
		a.deferred[o.Path] = o
		a.mu.Unlock()
		return
	}
	if errors.Is(err, fs.ErrNotExist) {
		log.Warn("open segment missing on disk; forgetting it")
		_ = a.index.dropOpen(o.Path)
		return
	}
	if err != nil || res.Fragments == 0 {
		if err != nil {
			log.Error("segment cannot be repaired; removing it", "err", err)
		} else {
			log.Warn("segment holds no complete fragment; removing it")
		}
		_ = os.Remove(abs)
		_ = a.index.dropOpen(o.Path)
		return
	}
	seg := Segment{
		Camera: o.Camera, Start: o.Start, End: o.Start.Add(res.Duration), Path: o.Path,
		Bytes: res.Bytes, SHA256: res.SHA256, Codec: res.Codec, Width: res.Width, Height: res.Height,
		Repaired: true,
	}
	if err := a.index.closeSegment(seg); err != nil {
		log.Error("index repaired segment", "err", err)
		return
	}
	a.o.Metrics.Repaired.Inc()
	a.o.Metrics.SegmentsClosed.WithLabelValues(o.Camera).Inc()
	log.Warn("segment repaired after unclean shutdown", "fragments", res.Fragments,
		"duration", res.Duration, "dropped_bytes", res.Dropped)
	a.emit(event.New(event.KindSegmentClosed, o.Camera, event.SeverityInfo, seg))
}
