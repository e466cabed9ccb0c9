package site

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
)

// A viewer starts at a keyframe, and one that falls behind resumes at the
// next keyframe instead of receiving a broken chain; ingest never waits.
func TestTapViewerSkipsToKeyframes(t *testing.T) {
	tap := NewTap()
	if _, err := tap.Subscribe("Camera1"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("subscribe without a session: %v", err)
	}
	sink, err := tap.Consumer().Open("Camera1", media.Track{Codec: media.H264}, "start")
	if err != nil {
		t.Fatal(err)
	}
	idr := []byte{0x65, 0x88}
	unit := func(pts int64, key bool) *media.Unit {
		n := []byte{0x41, 0x9a}
		if key {
			n = idr
		}
		return &media.Unit{NALUs: [][]byte{n}, PTS: pts}
	}
	_ = sink.WriteUnit(unit(0, true)) // before anyone watches
	sub, err := tap.Subscribe("Camera1")
	if err != nil {
		t.Fatal(err)
	}
	_ = sink.WriteUnit(unit(1, false)) // not a keyframe: skipped
	_ = sink.WriteUnit(unit(2, true))
	for pts := int64(3); pts < 400; pts++ { // overflow the viewer's queue
		_ = sink.WriteUnit(unit(pts, pts%100 == 0))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var got []int64
	for {
		u, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, u.PTS)
		if len(sub.ch) == 0 {
			break
		}
	}
	if got[0] != 2 || len(got) != 128 || got[127] != 129 {
		t.Fatalf("first %d, %d units, last %d", got[0], len(got), got[len(got)-1])
	}
	_ = sink.WriteUnit(unit(400, false)) // behind: dropped until a keyframe
	_ = sink.WriteUnit(unit(500, true))
	if u, _ := sub.Next(ctx); u.PTS != 500 {
		t.Fatalf("after falling behind got %d, want the keyframe 500", u.PTS)
	}
	_ = sink.Close()
	if _, err := sub.Next(ctx); err == nil {
		t.Fatal("feed outlived its session")
	}
}
