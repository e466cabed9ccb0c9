package record

import (
	"context"
	"image"
	"math"
	"sync"

	"github.com/kuzet/kuzet/decode"
	"github.com/kuzet/kuzet/media"
)

// Motion detection judges thumbnails (thumbWidth wide) of the camera's
// frames against a background that follows the picture slowly (bgFollow
// of the difference per judged frame): a pixel whose luma is more than
// pixelDelta off the background changed; more than the threshold's share
// of the unmasked picture changed in two judged frames in a row is
// motion. Something that appears and stays is motion until the background
// has taken it in (a few seconds); light that changes slowly never is.
const (
	thumbWidth       = 160
	pixelDelta       = 25
	bgFollow         = 0.1
	defaultMotionFPS = 3
	defaultThreshold = 0.01
)

// MotionConsumer is the session consumer that detects motion on every
// camera recording on motion and fires its trigger. ffmpeg is the decoder
// binary ("" for ffmpeg on the PATH).
func (t *Triggers) MotionConsumer(ffmpeg string) media.Consumer {
	return media.Consumer{Name: "motion", Queue: 64, Open: func(camera string, tr media.Track, _ string) (media.Sink, error) {
		p := t.Policy(camera)
		if p.Continuous() || !p.Takes(CauseMotion) {
			return nil, nil
		}
		return t.startMotion(camera, tr, p.Motion, ffmpeg), nil
	}}
}

type motionSink struct {
	dec    *decode.Decoder
	codec  media.Codec
	params [][]byte
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (t *Triggers) startMotion(camera string, tr media.Track, o MotionOptions, ffmpeg string) media.Sink {
	w, h, ok := tr.Resolution()
	if !ok {
		t.log.Warn("no motion detection: the stream's size is unknown", "camera", camera)
		return nil
	}
	if o.FPS <= 0 {
		o.FPS = defaultMotionFPS
	}
	if o.Threshold <= 0 {
		o.Threshold = defaultThreshold
	}
	tw := thumbWidth
	th := max(2, int(math.Round(float64(tw)*float64(h)/float64(w)/2))*2)
	var params [][]byte
	for _, p := range tr.ParamNALUs() {
		if len(p) > 0 {
			params = append(params, p)
		}
	}
	dec := decode.New(decode.Options{FFmpeg: ffmpeg, Codec: tr.Codec, Every: max(1, int(math.Round(tr.FPS()/o.FPS))),
		Width: w, Height: h, OutWidth: tw, OutHeight: th, Queue: 32,
		Logger: t.log.With("component", "motion", "camera", camera)})
	ctx, cancel := context.WithCancel(context.Background())
	s := &motionSink{dec: dec, codec: tr.Codec, params: params, cancel: cancel}
	mask := thumbMask(o.Mask, w, h, tw, th)
	t.log.Info("motion detection", "camera", camera, "fps", o.FPS, "every", max(1, int(math.Round(tr.FPS()/o.FPS))),
		"threshold", o.Threshold, "masked", len(o.Mask))
	s.wg.Add(2)
	go func() { defer s.wg.Done(); dec.Run(ctx) }()
	go func() {
		defer s.wg.Done()
		var bg []float32
		run := 0
		for f := range dec.Frames() {
			cur := luma(f.Img)
			if bg == nil {
				bg = make([]float32, len(cur))
				for i, v := range cur {
					bg[i] = float32(v)
				}
				continue
			}
			if changed(bg, cur, mask) > o.Threshold {
				run++
				t.met.motion.WithLabelValues(camera, "motion").Inc()
			} else {
				run = 0
				t.met.motion.WithLabelValues(camera, "still").Inc()
			}
			if run >= 2 {
				t.Fire(camera, CauseMotion, f.Time)
			}
			for i, v := range cur {
				bg[i] += bgFollow * (float32(v) - bg[i])
			}
		}
	}()
	return s
}

func (s *motionSink) WriteUnit(u *media.Unit) error {
	s.dec.Push(u.NALUs, s.params, u.RandomAccess(s.codec), u.Time)
	return nil
}

func (s *motionSink) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// luma is an RGBA thumbnail's brightness, one byte per pixel.
func luma(img *image.RGBA) []byte {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[(y-b.Min.Y)*img.Stride:]
		for x := 0; x < b.Dx(); x++ {
			p := row[x*4:]
			out = append(out, byte((299*int(p[0])+587*int(p[1])+114*int(p[2]))/1000))
		}
	}
	return out
}

// changed is the share of unmasked pixels whose luma is more than
// pixelDelta off the background.
func changed(bg []float32, cur []byte, mask []bool) float64 {
	n, moved := 0, 0
	for i := range bg {
		if mask != nil && mask[i] {
			continue
		}
		n++
		d := float32(cur[i]) - bg[i]
		if d > pixelDelta || d < -pixelDelta {
			moved++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(moved) / float64(n)
}

// thumbMask marks the thumbnail pixels inside any of rects (given in the
// stream's pixels); nil when there is no mask.
func thumbMask(rects []image.Rectangle, w, h, tw, th int) []bool {
	if len(rects) == 0 {
		return nil
	}
	m := make([]bool, tw*th)
	for y := range th {
		for x := range tw {
			// the thumbnail pixel's centre in the stream's pixels
			p := image.Pt((2*x+1)*w/(2*tw), (2*y+1)*h/(2*th))
			for _, r := range rects {
				if p.In(r) {
					m[y*tw+x] = true
					break
				}
			}
		}
	}
	return m
}
