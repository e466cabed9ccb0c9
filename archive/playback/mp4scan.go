package playback

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// fileIndex is what playback needs to know of one segment file: where the
// init section ends, the track's time base and codec description, and
// where each complete fragment lies with its decode time.
type fileIndex struct {
	InitEnd   int64  // end of moov: the init section is bytes [0, InitEnd)
	TimeScale uint32 // ticks per second of the track
	Codec     string // sample entry type: avc1, hvc1, hev1, …
	SampleEnt []byte // the stsd box: equal bytes mean equal codec parameters
	Fragments []fragment
	Truncated bool // the file ends inside a box (still being written, or cut)
}

// fragment is one moof+mdat pair.
type fragment struct {
	Offset    int64  // of the moof
	Size      int64  // moof + mdat
	Seq       uint32 // mfhd sequence number
	SeqPos    int64  // file offset of the 4-byte sequence number
	BaseTime  uint64 // tfdt, in TimeScale ticks
	TfdtPos   int64  // file offset of the tfdt value
	TfdtV1    bool   // 8-byte tfdt value (else 4 bytes)
	Duration  uint64 // sum of sample durations, in ticks
	Samples   int
	SyncStart bool // the first sample is a sync sample (a decoder can start here)
}

// End is the fragment's end decode time in ticks.
func (f fragment) End() uint64 { return f.BaseTime + f.Duration }

// trexDefaults are the movie-level sample defaults a fragment may rely on.
type trexDefaults struct {
	duration, flags uint32
}

const (
	maxMoovBytes = 4 << 20  // parameter sets and tables of one video track
	maxMoofBytes = 16 << 20 // 16 bytes per sample: a million samples

	tfhdBaseOffset      = 0x000001
	tfhdDescIndex       = 0x000002
	tfhdDefaultDuration = 0x000008
	tfhdDefaultSize     = 0x000010
	tfhdDefaultFlags    = 0x000020

	trunDataOffset      = 0x000001
	trunFirstFlags      = 0x000004
	trunSampleDuration  = 0x000100
	trunSampleSize      = 0x000200
	trunSampleFlags     = 0x000400
	trunSampleCTSOffset = 0x000800

	sampleIsNonSync = 0x00010000
)

// errNotFMP4 means the file does not have the shape the archive writes.
var errNotFMP4 = errors.New("not a fragmented MP4 file (expected ftyp, moov, then moof+mdat pairs)")

// box is one ISO BMFF box inside a buffer or file.
type box struct {
	typ   string
	start int64 // offset of the header
	body  int64 // offset of the payload
	end   int64
}

// parseHeader reads a box header from b (at least 8 bytes; 16 for a
// 64-bit size). avail is how many bytes the box may span from its start;
// complete is false when the header or the box runs past avail.
func parseHeader(b []byte, start, avail int64) (bx box, complete bool, err error) {
	if avail < 8 || len(b) < 8 {
		return bx, false, nil
	}
	size := int64(binary.BigEndian.Uint32(b))
	bx.typ = string(b[4:8])
	hlen := int64(8)
	switch size {
	case 0: // "extends to the end": only a writer that died leaves this
		return bx, false, nil
	case 1:
		if avail < 16 || len(b) < 16 {
			return bx, false, nil
		}
		u := binary.BigEndian.Uint64(b[8:16])
		if u > 1<<62 {
			return bx, false, fmt.Errorf("box %q at %d: size %d is impossible", bx.typ, start, u)
		}
		size, hlen = int64(u), 16
	}
	if size < hlen {
		return bx, false, fmt.Errorf("box %q at %d: size %d is smaller than its header", bx.typ, start, size)
	}
	bx.start, bx.body, bx.end = start, start+hlen, start+size
	return bx, size <= avail, nil
}

// children iterates the boxes inside b (a box payload starting at file
// offset base). A child running past the payload is an error: inside a
// complete box nothing may be truncated.
func children(b []byte, base int64, fn func(bx box, payload []byte) error) error {
	off := int64(0)
	for off < int64(len(b)) {
		bx, complete, err := parseHeader(b[off:], base+off, int64(len(b))-off)
		if err != nil {
			return err
		}
		if !complete {
			return fmt.Errorf("box at %d overruns its parent", base+off)
		}
		if err := fn(bx, b[bx.body-base:bx.end-base]); err != nil {
			return err
		}
		off = bx.end - base
	}
	return nil
}

// scanFile indexes a fragmented MP4 file of size bytes: the init section
// and every complete moof+mdat pair. A box cut short at the end (a file
// being written) ends the scan without error and sets Truncated; anything
// else out of shape is an error naming the offset.
func scanFile(r io.ReaderAt, size int64) (*fileIndex, error) {
	idx := &fileIndex{}
	win := window{r: r, size: size}
	var trex trexDefaults
	var pending *fragment // a moof waiting for its mdat
	state := "ftyp"
	off := int64(0)
	for off < size {
		hdr, err := win.at(off, int(min(16, size-off)))
		if err != nil {
			return idx, fmt.Errorf("read box header at %d: %w", off, err)
		}
		n := len(hdr)
		bx, complete, err := parseHeader(hdr, off, size-off)
		if err != nil {
			if state == "ftyp" {
				return idx, errNotFMP4
			}
			return idx, err
		}
		if !complete {
			if state == "ftyp" && n >= 8 && bx.typ != "ftyp" {
				return idx, errNotFMP4
			}
			idx.Truncated = true
			break
		}
		switch {
		case state == "ftyp":
			if bx.typ != "ftyp" {
				return idx, errNotFMP4
			}
			state = "moov"
		case state == "moov" && bx.typ == "moov":
			if bx.end-bx.body > maxMoovBytes {
				return idx, fmt.Errorf("moov at %d: %d bytes is too large", off, bx.end-bx.body)
			}
			body, err := win.at(bx.body, int(bx.end-bx.body))
			if err != nil {
				return idx, fmt.Errorf("read moov at %d: %w", off, err)
			}
			if trex, err = parseMoov(idx, body, bx.body, off); err != nil {
				return idx, err
			}
			idx.InitEnd = bx.end
			state = "moof"
		case state == "moov" && (bx.typ == "moof" || bx.typ == "mdat"):
			return idx, fmt.Errorf("%s at %d before the moov", bx.typ, off)
		case state == "moof" && bx.typ == "moof":
			if bx.end-bx.body > maxMoofBytes {
				return idx, fmt.Errorf("moof at %d: %d bytes is too large", off, bx.end-bx.body)
			}
			// the mdat header after it comes along in the same read
			body, err := win.at(bx.body, int(bx.end-bx.body), 16)
			if err != nil {
				return idx, fmt.Errorf("read moof at %d: %w", off, err)
			}
			fr, err := parseMoof(body, bx.body, trex)
			if err != nil {
				return idx, fmt.Errorf("moof at %d: %w", off, err)
			}
			fr.Offset = off
			pending = &fr
			state = "mdat"
		case state == "mdat" && bx.typ == "mdat":
			pending.Size = bx.end - pending.Offset
			idx.Fragments = append(idx.Fragments, *pending)
			pending = nil
			state = "moof"
		case state == "mdat":
			return idx, fmt.Errorf("moof at %d is followed by %q, not mdat", pending.Offset, bx.typ)
		case state == "moof" && bx.typ == "mdat":
			return idx, fmt.Errorf("mdat at %d without a moof", off)
		}
		// other boxes (free, skip, sidx, styp, …) carry nothing to play
		off = bx.end
	}
	if pending != nil {
		idx.Truncated = true // a moof whose mdat is not written yet
	}
	if idx.InitEnd == 0 {
		return idx, fmt.Errorf("%w: no complete moov", errNotFMP4)
	}
	return idx, nil
}

// window reads a file in chunks, so that a fragment's moof and the mdat
// header after it cost one read, not three.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
}

const windowBytes = 4096

// at returns n bytes at off (off+n <= size), valid until the next call;
// extra more bytes are read ahead when the file has them.
func (w *window) at(off int64, n int, extra ...int) ([]byte, error) {
	if off >= w.off && off+int64(n) <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off : off-w.off+int64(n)], nil
	}
	want := int64(n)
	for _, e := range extra {
		want += int64(e)
	}
	want = min(max(want, windowBytes), w.size-off)
	if int64(cap(w.buf)) < want {
		w.buf = make([]byte, want)
	}
	w.buf = w.buf[:want]
	m, err := w.r.ReadAt(w.buf, off)
	if int64(m) < want && (err == nil || errors.Is(err, io.EOF)) {
		err = io.ErrUnexpectedEOF // the file shrank under us
	}
	if err != nil {
		w.buf = w.buf[:0]
		return nil, err
	}
	w.off = off
	return w.buf[:n], nil
}

// parseMoov finds the one video track's time scale and sample description
// and the movie-level fragment defaults.
func parseMoov(idx *fileIndex, body []byte, base, at int64) (trexDefaults, error) {
	var trex trexDefaults
	traks := 0
	err := children(body, base, func(bx box, p []byte) error {
		switch bx.typ {
		case "trak":
			traks++
			if traks > 1 {
				return fmt.Errorf("moov at %d has more than one track; the archive records video only", at)
			}
			return parseTrak(idx, p, bx.body)
		case "mvex":
			return children(p, bx.body, func(c box, q []byte) error {
				if c.typ != "trex" {
					return nil
				}
				// version+flags, track_ID, description index, duration, size, flags
				if len(q) < 24 {
					return fmt.Errorf("trex at %d is %d bytes, want 24", c.start, len(q))
				}
				trex.duration = binary.BigEndian.Uint32(q[12:])
				trex.flags = binary.BigEndian.Uint32(q[20:])
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return trex, err
	}
	if traks == 0 {
		return trex, fmt.Errorf("moov at %d has no track", at)
	}
	if idx.TimeScale == 0 {
		return trex, fmt.Errorf("moov at %d: track has no time scale (mdhd)", at)
	}
	if idx.SampleEnt == nil {
		return trex, fmt.Errorf("moov at %d: track has no sample description (stsd)", at)
	}
	return trex, nil
}

func parseTrak(idx *fileIndex, body []byte, base int64) error {
	return children(body, base, func(bx box, p []byte) error {
		if bx.typ != "mdia" {
			return nil
		}
		return children(p, bx.body, func(c box, q []byte) error {
			switch c.typ {
			case "mdhd":
				return parseMdhd(idx, q, c.start)
			case "hdlr":
				// version+flags, pre_defined, handler_type
				if len(q) < 12 {
					return fmt.Errorf("hdlr at %d is too short", c.start)
				}
				if h := string(q[8:12]); h != "vide" {
					return fmt.Errorf("track handler %q at %d is not video", h, c.start)
				}
			case "minf":
				return children(q, c.body, func(d box, s []byte) error {
					if d.typ != "stbl" {
						return nil
					}
					return children(s, d.body, func(e box, t []byte) error {
						if e.typ != "stsd" {
							return nil
						}
						// version+flags, entry_count, then the first entry's header
						if len(t) < 16 {
							return fmt.Errorf("stsd at %d is too short", e.start)
						}
						idx.Codec = string(t[12:16])
						idx.SampleEnt = append([]byte(nil), t...)
						return nil
					})
				})
			}
			return nil
		})
	})
}

func parseMdhd(idx *fileIndex, q []byte, at int64) error {
	if len(q) < 4 {
		return fmt.Errorf("mdhd at %d is too short", at)
	}
	pos := 12 // v0: version+flags, creation, modification
	if q[0] == 1 {
		pos = 20
	}
	if len(q) < pos+4 {
		return fmt.Errorf("mdhd at %d is too short", at)
	}
	idx.TimeScale = binary.BigEndian.Uint32(q[pos:])
	return nil
}

// parseMoof reads one single-track fragment header: sequence number,
// decode time (and where both are stored), duration and whether it starts
// with a sync sample.
func parseMoof(body []byte, base int64, trex trexDefaults) (fragment, error) {
	var fr fragment
	var seenMfhd, seenTraf bool
	err := children(body, base, func(bx box, p []byte) error {
		switch bx.typ {
		case "mfhd":
			if len(p) < 8 {
				return fmt.Errorf("mfhd at %d is too short", bx.start)
			}
			fr.Seq = binary.BigEndian.Uint32(p[4:])
			fr.SeqPos = bx.body + 4
			seenMfhd = true
		case "traf":
			if seenTraf {
				return fmt.Errorf("more than one track fragment (traf at %d); the archive records video only", bx.start)
			}
			seenTraf = true
			return parseTraf(&fr, p, bx.body, trex)
		}
		return nil
	})
	if err != nil {
		return fr, err
	}
	if !seenMfhd {
		return fr, errors.New("no mfhd")
	}
	if !seenTraf {
		return fr, errors.New("no traf")
	}
	return fr, nil
}

func parseTraf(fr *fragment, body []byte, base int64, trex trexDefaults) error {
	defDur, defFlags := trex.duration, trex.flags
	var seenTfhd, seenTfdt, first = false, false, true
	err := children(body, base, func(bx box, p []byte) error {
		switch bx.typ {
		case "tfhd":
			if len(p) < 8 {
				return fmt.Errorf("tfhd at %d is too short", bx.start)
			}
			flags := binary.BigEndian.Uint32(p) & 0xffffff
			pos := 8 // version+flags, track_ID
			for _, opt := range []struct {
				bit  uint32
				size int
				dst  *uint32
			}{
				{tfhdBaseOffset, 8, nil},
				{tfhdDescIndex, 4, nil},
				{tfhdDefaultDuration, 4, &defDur},
				{tfhdDefaultSize, 4, nil},
				{tfhdDefaultFlags, 4, &defFlags},
			} {
				if flags&opt.bit == 0 {
					continue
				}
				if len(p) < pos+opt.size {
					return fmt.Errorf("tfhd at %d is too short for its flags %#x", bx.start, flags)
				}
				if opt.dst != nil {
					*opt.dst = binary.BigEndian.Uint32(p[pos:])
				}
				pos += opt.size
			}
			seenTfhd = true
		case "tfdt":
			if len(p) < 8 {
				return fmt.Errorf("tfdt at %d is too short", bx.start)
			}
			fr.TfdtPos = bx.body + 4
			if p[0] == 1 {
				if len(p) < 12 {
					return fmt.Errorf("tfdt at %d is too short", bx.start)
				}
				fr.BaseTime, fr.TfdtV1 = binary.BigEndian.Uint64(p[4:]), true
			} else {
				fr.BaseTime = uint64(binary.BigEndian.Uint32(p[4:]))
			}
			seenTfdt = true
		case "trun":
			if !seenTfhd {
				return fmt.Errorf("trun at %d comes before the tfhd", bx.start)
			}
			if err := parseTrun(fr, p, bx.start, defDur, defFlags, first); err != nil {
				return err
			}
			first = false
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !seenTfhd {
		return errors.New("no tfhd")
	}
	if !seenTfdt {
		return errors.New("no tfdt: decode times are needed to play by time")
	}
	if fr.Samples == 0 {
		return errors.New("no samples")
	}
	return nil
}

func parseTrun(fr *fragment, p []byte, at int64, defDur, defFlags uint32, first bool) error {
	if len(p) < 8 {
		return fmt.Errorf("trun at %d is too short", at)
	}
	flags := binary.BigEndian.Uint32(p) & 0xffffff
	count := int64(binary.BigEndian.Uint32(p[4:]))
	pos := 8
	if flags&trunDataOffset != 0 {
		pos += 4
	}
	firstFlags, hasFirstFlags := uint32(0), flags&trunFirstFlags != 0
	if hasFirstFlags {
		if len(p) < pos+4 {
			return fmt.Errorf("trun at %d is too short for its flags %#x", at, flags)
		}
		firstFlags = binary.BigEndian.Uint32(p[pos:])
		pos += 4
	}
	entry := 0
	for _, bit := range []uint32{trunSampleDuration, trunSampleSize, trunSampleFlags, trunSampleCTSOffset} {
		if flags&bit != 0 {
			entry += 4
		}
	}
	if int64(len(p)-pos) < count*int64(entry) {
		return fmt.Errorf("trun at %d: %d samples do not fit in %d bytes", at, count, len(p))
	}
	for i := int64(0); i < count; i++ {
		e := p[pos+int(i)*entry:]
		dur, sflags := defDur, defFlags
		k := 0
		if flags&trunSampleDuration != 0 {
			dur = binary.BigEndian.Uint32(e[k:])
			k += 4
		}
		if flags&trunSampleSize != 0 {
			k += 4
		}
		if flags&trunSampleFlags != 0 {
			sflags = binary.BigEndian.Uint32(e[k:])
		}
		if i == 0 && hasFirstFlags {
			sflags = firstFlags
		}
		if first && i == 0 {
			fr.SyncStart = sflags&sampleIsNonSync == 0
		}
		fr.Duration += uint64(dur)
	}
	fr.Samples += int(count)
	return nil
}
