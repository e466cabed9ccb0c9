package playback

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/internal/mediatest"
)

// recordFile writes seconds of the demo clip through the archive's
// recorder into one segment file and returns its bytes and path.
func recordFile(t testing.TB, seconds int) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	a, err := archive.Open(archive.Options{Root: filepath.Join(dir, "archive"), Segment: time.Hour, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	feed(t, a, "Camera1", parseClip(t, demoClip()), start, seconds*25)
	segs, err := a.Index().Segments("Camera1", time.Time{}, time.Time{})
	if err != nil || len(segs) != 1 {
		t.Fatalf("segments %+v, %v", segs, err)
	}
	b, err := os.ReadFile(a.Abs(segs[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	return b, a.Abs(segs[0].Path)
}

// The scanner agrees with the archive's own layout scan and with ffprobe.
func TestScanMatchesArchiveFile(t *testing.T) {
	b, abs := recordFile(t, 5)
	fi := mustScan(t, b)
	l, err := archive.ScanLayout(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if fi.InitEnd != l.InitEnd || len(fi.Fragments) != l.Fragments || fi.Truncated {
		t.Fatalf("scan %+v, archive layout %+v", fi, l)
	}
	last := fi.Fragments[len(fi.Fragments)-1]
	if last.Offset != l.LastMoof || last.Offset+last.Size != l.Good || l.Good != int64(len(b)) {
		t.Errorf("last fragment %+v, layout %+v, %d bytes", last, l, len(b))
	}
	if fi.TimeScale != 90000 || fi.Codec != "avc1" || len(fi.SampleEnt) == 0 {
		t.Errorf("track: scale %d codec %q", fi.TimeScale, fi.Codec)
	}
	samples := 0
	for i, fr := range fi.Fragments {
		samples += fr.Samples
		if !fr.SyncStart || fr.Seq != uint32(i+1) || fr.Duration != 90000 {
			t.Errorf("fragment %d: %+v (the clip has a keyframe every 25 frames, 1 s parts)", i, fr)
		}
		if i > 0 && fr.BaseTime != fi.Fragments[i-1].End() {
			t.Errorf("fragment %d starts at %d, previous ends at %d", i, fr.BaseTime, fi.Fragments[i-1].End())
		}
		if binary.BigEndian.Uint64(b[fr.TfdtPos:]) != fr.BaseTime || binary.BigEndian.Uint32(b[fr.SeqPos:]) != fr.Seq {
			t.Errorf("fragment %d: tfdt/mfhd positions do not hold the values", i)
		}
	}
	if p := mediatest.Probe(t, abs); p.Frames != samples {
		t.Errorf("%d samples, ffprobe counts %d frames", samples, p.Frames)
	}
}

// A file cut anywhere (being written, or torn by a crash) yields its
// complete fragments and no error, like the archive's repair scan.
func TestScanTruncatedFile(t *testing.T) {
	b, _ := recordFile(t, 3)
	full := mustScan(t, b)
	for _, cut := range []int64{full.InitEnd, full.InitEnd + 5, full.Fragments[1].Offset - 3, full.Fragments[1].Offset,
		full.Fragments[1].Offset + 200, full.Fragments[2].Offset + full.Fragments[2].Size - 1} {
		fi, err := scanFile(bytes.NewReader(b[:cut]), cut)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		l, _ := archive.ScanLayout(bytes.NewReader(b[:cut]), cut)
		if len(fi.Fragments) != l.Fragments {
			t.Errorf("cut at %d: %d fragments, archive layout %d", cut, len(fi.Fragments), l.Fragments)
		}
		atBoundary := cut == full.InitEnd || cut == full.Fragments[1].Offset
		if fi.Truncated == atBoundary {
			t.Errorf("cut at %d: truncated = %v", cut, fi.Truncated)
		}
	}
	if _, err := scanFile(bytes.NewReader(b[:full.InitEnd-1]), full.InitEnd-1); !errors.Is(err, errNotFMP4) {
		t.Errorf("file without a complete moov: %v", err)
	}
}

// A file from another writer (mediacommon's) scans the same way.
func TestScanOtherWriter(t *testing.T) {
	fi := mustScan(t, smallFile(t, 3))
	if len(fi.Fragments) != 3 || fi.TimeScale != 90000 {
		t.Fatalf("%+v", fi)
	}
	for i, fr := range fi.Fragments {
		if fr.BaseTime != uint64(i)*7200 || fr.Duration != 7200 || fr.Samples != 2 || !fr.SyncStart || fr.Seq != uint32(i+1) {
			t.Errorf("fragment %d: %+v", i, fr)
		}
	}
}

func TestScanRefusesForeignShapes(t *testing.T) {
	b, _ := recordFile(t, 2)
	fi := mustScan(t, b)
	moof := fi.Fragments[0]
	mdat := moof.Offset + int64(binary.BigEndian.Uint32(b[moof.Offset:]))
	mutate := func(f func(c []byte) []byte) []byte { return f(bytes.Clone(b)) }
	cases := map[string][]byte{
		"not mp4": []byte("hello world, this is not an mp4 file at all"),
		"no ftyp": b[binary.BigEndian.Uint32(b):],
		"moof first": mutate(func(c []byte) []byte {
			copy(c[4:8], "moof")
			return c
		}),
		"moof then free": mutate(func(c []byte) []byte {
			copy(c[mdat+4:mdat+8], "free")
			return c
		}),
		"mdat without moof": mutate(func(c []byte) []byte {
			copy(c[moof.Offset+4:moof.Offset+8], "mdat")
			return c
		}),
		"moof without tfdt": mutate(func(c []byte) []byte {
			copy(c[moof.TfdtPos-8:moof.TfdtPos-4], "xxxx")
			return c
		}),
		"bad child size": mutate(func(c []byte) []byte {
			binary.BigEndian.PutUint32(c[moof.SeqPos-12:], 3)
			return c
		}),
	}
	for name, c := range cases {
		if _, err := scanFile(bytes.NewReader(c), int64(len(c))); err == nil {
			t.Errorf("%s: scanned without error", name)
		}
	}
}

// FuzzScanFile: no input makes the scanner panic or report fragments
// outside the file; what it reports can be shifted and read back.
func FuzzScanFile(f *testing.F) {
	small := smallFile(f, 3)
	f.Add(small)
	f.Add(small[:len(small)-5])
	b, _ := recordFile(f, 1)
	fi, err := scanFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b[:fi.Fragments[0].Offset+200]) // a real init and fragment header
	f.Add([]byte("\x00\x00\x00\x08ftyp\x00\x00\x00\x01moov\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		fi, err := scanFile(bytes.NewReader(data), size)
		if err != nil {
			return
		}
		if fi.InitEnd <= 0 || fi.InitEnd > size || fi.TimeScale == 0 {
			t.Fatalf("init end %d of %d, scale %d", fi.InitEnd, size, fi.TimeScale)
		}
		prev := fi.InitEnd
		for i, fr := range fi.Fragments {
			if fr.Offset < prev || fr.Size <= 0 || fr.Offset+fr.Size > size {
				t.Fatalf("fragment %d at %d+%d outside [%d, %d]", i, fr.Offset, fr.Size, prev, size)
			}
			if fr.TfdtPos <= fr.Offset || fr.TfdtPos+4 > fr.Offset+fr.Size || fr.SeqPos <= fr.Offset || fr.SeqPos+4 > fr.Offset+fr.Size {
				t.Fatalf("fragment %d fields outside it: %+v", i, fr)
			}
			prev = fr.Offset + fr.Size
		}
		sr, err := newShiftedReader(bytes.NewReader(data), size, fi.Fragments, 90000, func(i int) uint32 { return uint32(i) })
		if err != nil {
			return
		}
		out := make([]byte, size)
		if _, err := sr.ReadAt(out, 0); err != nil {
			t.Fatal(err)
		}
		again, err := scanFile(bytes.NewReader(out), size)
		if err != nil || len(again.Fragments) != len(fi.Fragments) {
			t.Fatalf("shifted file scans differently: %v", err)
		}
	})
}

// smallFile is a valid fragmented MP4 of n tiny fragments, written by
// mediacommon (a different writer than the archive's).
func smallFile(t testing.TB, n int) []byte {
	t.Helper()
	c := parseClip(t, demoClip())
	var buf seekablebuffer.Buffer
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: 90000, Codec: &mp4.CodecH264{SPS: c.SPS, PPS: c.PPS}}}}
	if err := init.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(buf.Bytes())
	for i := 0; i < n; i++ {
		buf.Reset()
		p := fmp4.Part{SequenceNumber: uint32(i + 1), Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: uint64(i) * 7200, Samples: []*fmp4.Sample{
			{Duration: 3600, Payload: []byte{0, 0, 0, 2, 0x65, 0x88}},
			{Duration: 3600, IsNonSyncSample: true, Payload: []byte{0, 0, 0, 2, 0x41, 0x9a}},
		}}}}
		if err := p.Marshal(&buf); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes()...)
	}
	return out
}
