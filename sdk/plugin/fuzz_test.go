package plugin

import (
	"bytes"
	"io"
	"runtime"
	"testing"
)

// FuzzFrameStream feeds arbitrary bytes to the frame reader: it must not
// panic, must only return frames that are what their header says, and
// must not allocate much more than it was given.
func FuzzFrameStream(f *testing.F) {
	f.Add(frameBytes("Entry", FormatGray, 2, 2, 1, 0, []byte{1, 2, 3, 4}))
	f.Add(frameBytes("Entry", FormatRGB24, 1, 2, 7, 3, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(frameBytes("Entry", FormatGray, 4, 4, 1, 0, make([]byte, 16))[:30])
	f.Add([]byte(`{"width": 8192, "height": 2730, "format": "rgb24", "bytes": 67092480}` + "\n\x00\x00"))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fs := newFrameStream(io.NopCloser(bytes.NewReader(data)))
		for {
			fr, err := fs.Next()
			if err != nil {
				break
			}
			if !fr.ok() || len(fr.Pix) > MaxFrameBytes {
				t.Fatalf("frame %dx%d %q with %d bytes", fr.Width, fr.Height, fr.Format, len(fr.Pix))
			}
		}
		runtime.ReadMemStats(&after)
		// The reader's buffer, one first read step, and pixels that
		// arrived (twice, while growing): a header alone buys no more.
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(4*len(data)+2<<20); got > limit {
			t.Fatalf("allocated %d bytes for %d of input", got, len(data))
		}
	})
}
