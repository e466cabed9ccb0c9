package site

import (
	"fmt"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Stream quality (UA-3.14, NVMS-1): a streaming camera's frame rate and
// RTP packet loss are judged over windows; two bad windows in a row raise
// an alarm, one good window clears it. A window spans a whole session only
// (a reconnect starts a new one), so an outage is the offline alarm's
// business, not this one's.
const (
	defaultQualityWindow = 10 * time.Second
	// a measured rate within 5 % of a bound is taken as at the bound:
	// a 30 fps camera measures 29.8 or 30.2 over ten seconds
	fpsTolerance = 0.05
	// fewer packets than this in a window say nothing about loss
	minPacketsJudged = 50
)

// quality is one camera's judge; only the watch goroutine touches it.
type quality struct {
	start                 time.Time
	session               uint64
	frames, packets, lost uint64
	badFPS, badLoss       int  // consecutive bad windows
	fpsAlarm, lossAlarm   bool // raised
}

// judgeQuality closes a window when one has passed and raises or clears
// the frame-rate and packet-loss alarms.
func (c *Camera) judgeQuality(now time.Time) {
	q := &c.q
	c.mu.Lock()
	streaming := c.st.State == StateStreaming
	c.mu.Unlock()
	frames, packets, lost, session := c.frames.Load(), c.packets.Load(), c.lost.Load(), c.sessions.Load()
	if !streaming || session != q.session || q.start.IsZero() {
		*q = quality{start: now, session: session, frames: frames, packets: packets, lost: lost,
			fpsAlarm: q.fpsAlarm, lossAlarm: q.lossAlarm}
		return
	}
	dt := now.Sub(q.start)
	if dt < c.qualityWindow {
		return
	}
	fps := float64(frames-q.frames) / dt.Seconds()
	np, nl := packets-q.packets, lost-q.lost
	q.start, q.frames, q.packets, q.lost = now, frames, packets, lost

	lim := c.cfg.Quality.OrDefaults()
	fpsBad := fps < lim.MinFPS*(1-fpsTolerance) || fps > lim.MaxFPS*(1+fpsTolerance)
	loss := 0.0
	if np+nl > 0 {
		loss = 100 * float64(nl) / float64(np+nl)
	}
	lossBad := np+nl >= minPacketsJudged && loss > lim.MaxPacketLoss
	c.judge(&q.badFPS, &q.fpsAlarm, fpsBad, event.AlarmFrameRate,
		fmt.Sprintf("camera %s streams %.1f fps, outside %g–%g fps (cameras[].quality)", c.cfg.ID, fps, lim.MinFPS, lim.MaxFPS),
		fmt.Sprintf("camera %s streams %.1f fps again", c.cfg.ID, fps))
	c.judge(&q.badLoss, &q.lossAlarm, lossBad, event.AlarmPacketLoss,
		fmt.Sprintf("camera %s loses %.1f %% of its RTP packets (%d of %d in %v), above %g %% (cameras[].quality.max_packet_loss)",
			c.cfg.ID, loss, nl, np+nl, dt.Round(time.Second), lim.MaxPacketLoss),
		fmt.Sprintf("camera %s loses %.1f %% of its RTP packets again", c.cfg.ID, loss))
}

// judge raises typ after two bad windows in a row and clears it after a
// good one.
func (c *Camera) judge(bad *int, raised *bool, isBad bool, typ, raiseMsg, clearMsg string) {
	switch {
	case isBad:
		*bad++
		if *bad >= 2 && !*raised {
			*raised = true
			c.log.Warn("stream quality", "alarm", typ, "msg", raiseMsg)
			c.alarm(event.KindAlarmRaised, typ, event.SeverityMinor, raiseMsg)
		}
	default:
		*bad = 0
		if *raised {
			*raised = false
			c.alarm(event.KindAlarmCleared, typ, event.SeverityInfo, clearMsg)
		}
	}
}
