package testcam

import (
	_ "embed"
	"sync"
)

// DemoClip is the synthetic camera's clip: 20 s of 1280x720 H.264 at 25 fps
// (Annex-B, an access unit delimiter before every frame, SPS/PPS before every
// IDR, an IDR every 25 frames, no B-frames) showing trucks with readable
// licence plates. testdata/make-clip.sh generates it; testdata/plates720p.txt
// lists the plates and when each is fully in view.
//
//go:embed plates720p.h264
var DemoClip []byte

// DemoSubClip is the same clip at 640x360 (300 kbit/s), the sub-stream
// served beside each camera at camN-sub.
//
//go:embed plates360p.h264
var DemoSubClip []byte

var demo = sync.OnceValues(func() (*Clip, error) { return ParseAnnexB(DemoClip) })

// Demo is DemoClip parsed, once per process: the frames tests feed to
// consumers.
func Demo() (*Clip, error) { return demo() }
