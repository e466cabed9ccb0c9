package decode

import (
	"context"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// Every unit fed becomes one frame carrying that unit's time, the first
// ones included: the timing of reads and tamper alarms depends on it.
func TestDecoderPairsEveryFrameWithItsUnit(t *testing.T) {
	clip, err := testcam.ParseAnnexB(testcam.DemoClip)
	if err != nil {
		t.Fatal(err)
	}
	for _, every := range []int{0, 1} {
		d := New(Options{Codec: media.H264, Every: every, Width: clip.Width, Height: clip.Height, Queue: 1024})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		go d.Run(ctx)
		t0 := time.Unix(1000, 0)
		want := []time.Time{}
		for i, f := range clip.Frames[:250] {
			at := t0.Add(time.Duration(i) * 40 * time.Millisecond)
			if every == 1 || f.IDR {
				want = append(want, at)
			}
			d.Push(f.NALUs, [][]byte{clip.SPS, clip.PPS}, f.IDR, at)
		}
		// the last units wait for the next one (the parser needs its start)
		for i, w := range want[:len(want)-3] {
			select {
			case fr := <-d.Frames():
				if !fr.Time.Equal(w) {
					t.Fatalf("every=%d: frame %d has time %v, its unit %v", every, i, fr.Time.Sub(t0), w.Sub(t0))
				}
				if fr.Img.Bounds().Dx() != clip.Width {
					t.Fatalf("frame %d: %v", i, fr.Img.Bounds())
				}
			case <-ctx.Done():
				t.Fatalf("every=%d: %d of %d frames decoded", every, i, len(want))
			}
		}
		cancel()
	}
}
