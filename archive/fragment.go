package archive

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sample is one access unit waiting in a fragment. It references the NAL
// units of the session's unit instead of copying them: the fragment is
// written straight from that memory (see writeFragment), which keeps a
// recorder's footprint near one fragment of video.
type sample struct {
	nalus    [][]byte
	size     uint32 // AVCC size: a 4-byte length before each NAL unit, unless raw
	raw      bool   // a whole picture (M-JPEG, MPEG-4 Part 2): written as it is
	duration uint32
	ptsOff   int32
	sync     bool
}

const (
	trunDataOffset   = 0x000001
	trunDuration     = 0x000100
	trunSize         = 0x000200
	trunFlags        = 0x000400
	trunCTSOffset    = 0x000800
	tfhdDefaultBase  = 0x020000 // offsets are relative to the moof
	sampleNonSync    = 0x00010000
	sampleDependsOn1 = 0x01000000 // depends on others (not an I picture)
	sampleDependsOn2 = 0x02000000 // depends on no other (I picture)
	trunEntryBytes   = 16
)

// appendFragmentHeader appends moof and the mdat header of one
// single-track fragment (ISO/IEC 14496-12 §8.8) to dst.
func appendFragmentHeader(dst []byte, seq, track uint32, baseTime uint64, samples []sample) ([]byte, error) {
	trunLen := uint32(20 + trunEntryBytes*len(samples))
	trafLen := uint32(8+16+20) + trunLen
	moofLen := uint32(8+16) + trafLen
	var mdatLen uint64 = 8
	for _, s := range samples {
		mdatLen += uint64(s.size)
	}
	if mdatLen > 0xffffffff {
		// cannot happen under the size cap; it would need a largesize mdat
		return dst, fmt.Errorf("fragment of %d bytes is too large", mdatLen)
	}
	be := binary.BigEndian
	box := func(size uint32, typ string) {
		dst = be.AppendUint32(dst, size)
		dst = append(dst, typ...)
	}
	full := func(version byte, flags uint32) {
		dst = be.AppendUint32(dst, uint32(version)<<24|flags)
	}
	box(moofLen, "moof")
	box(16, "mfhd")
	full(0, 0)
	dst = be.AppendUint32(dst, seq)
	box(trafLen, "traf")
	box(16, "tfhd")
	full(0, tfhdDefaultBase)
	dst = be.AppendUint32(dst, track)
	box(20, "tfdt")
	full(1, 0)
	dst = be.AppendUint64(dst, baseTime)
	box(trunLen, "trun")
	full(1, trunDataOffset|trunDuration|trunSize|trunFlags|trunCTSOffset)
	dst = be.AppendUint32(dst, uint32(len(samples)))
	dst = be.AppendUint32(dst, moofLen+8) // data starts right after the mdat header
	for _, s := range samples {
		flags := uint32(sampleDependsOn2)
		if !s.sync {
			flags = sampleDependsOn1 | sampleNonSync
		}
		dst = be.AppendUint32(dst, s.duration)
		dst = be.AppendUint32(dst, s.size)
		dst = be.AppendUint32(dst, flags)
		dst = be.AppendUint32(dst, uint32(s.ptsOff))
	}
	box(uint32(mdatLen), "mdat")
	return dst, nil
}

// fragmentVecs lists the byte slices of a fragment in file order: header,
// then for each NAL unit its 4-byte length and its bytes (a raw sample's
// bytes alone). The returned lens holds the lengths the slices point into.
func fragmentVecs(header []byte, samples []sample, lens []byte, vecs [][]byte) ([][]byte, []byte) {
	vecs = append(vecs[:0], header)
	lens = lens[:0]
	for _, s := range samples {
		if s.raw {
			vecs = append(vecs, s.nalus...)
			continue
		}
		for _, n := range s.nalus {
			off := len(lens)
			lens = binary.BigEndian.AppendUint32(lens, uint32(len(n)))
			vecs = append(vecs, lens[off:off+4:off+4], n)
		}
	}
	return vecs, lens
}

// iovMax bounds one writev call (Linux IOV_MAX).
const iovMax = 1024

// writeVecs writes every slice in order with writev, one system call per
// fragment in the common case instead of two per NAL unit, and hashes them.
func writeVecs(f *os.File, h io.Writer, vecs [][]byte) (int64, error) {
	for _, v := range vecs {
		h.Write(v)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var total int64
	var werr error
	for len(vecs) > 0 {
		chunk := vecs[:min(len(vecs), iovMax)]
		var n int
		if err := rc.Write(func(fd uintptr) bool {
			n, werr = unix.Writev(int(fd), chunk)
			return true
		}); err != nil {
			return total, err
		}
		if werr == unix.EINTR {
			continue
		}
		if werr != nil {
			return total, werr
		}
		if n == 0 {
			return total, io.ErrShortWrite
		}
		total += int64(n)
		// drop what was written; a partial slice keeps its tail
		for n > 0 {
			if n >= len(vecs[0]) {
				n -= len(vecs[0])
				vecs = vecs[1:]
				continue
			}
			vecs[0] = vecs[0][n:]
			n = 0
		}
	}
	return total, nil
}
