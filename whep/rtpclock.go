package whep

import (
	"time"

	"github.com/kuzet/kuzet/media"
)

// resetAfter is how far the camera's clock may stray from the frames'
// arrival before the timeline is anchored again (a new camera session, a
// timestamp jump, drift).
const resetAfter = 500 * time.Millisecond

// wallClock turns units into RTP timestamps that are their wall clock:
// 90 kHz ticks since the Unix epoch, mod 2^32 (a wrap every 13.25 h; a
// player picks the turn nearest its own clock). Spacing follows the
// camera's PTS, anchored on the wall clock each unit carries from the site,
// so the player's pacing stays smooth while the number stays true.
type wallClock struct {
	set  bool
	off  time.Duration // wall − PTS
	last uint32
}

func (c *wallClock) stamp(u *media.Unit) uint32 {
	pts := time.Duration(u.PTS) * time.Second / media.ClockRate
	wall := time.Unix(0, 0).Add(pts + c.off)
	if d := wall.Sub(u.Time); !c.set || d > resetAfter || d < -resetAfter {
		c.off = u.Time.Sub(time.Unix(0, 0)) - pts
		wall = u.Time
	}
	ts := RTPTime(wall)
	if c.set && int32(ts-c.last) <= 0 {
		ts = c.last + 1 // never backwards: a player drops such frames
	}
	c.set, c.last = true, ts
	return ts
}

// RTPTime is t as 90 kHz ticks since the Unix epoch, mod 2^32.
func RTPTime(t time.Time) uint32 {
	ns := uint64(t.UnixNano())
	return uint32(ns/100000*9 + ns%100000*9/100000)
}

// WallTime is the wall clock an RTP timestamp stands for: the turn of the
// 2^32 cycle nearest near.
func WallTime(ts uint32, near time.Time) time.Time {
	cur := RTPTime(near)
	d := int64(int32(ts - cur)) // ticks from near, within ±6.6 h
	return near.Add(time.Duration(d) * time.Second / media.ClockRate)
}
