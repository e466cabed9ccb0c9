package record

import (
	"fmt"
	"image"
	"strconv"
	"strings"
	"time"
)

// Modes of a camera's recording.
const (
	ModeContinuous = "continuous"
	ModeEvent      = "event"
)

// Causes a recording can be triggered by.
const (
	CauseMotion   = "motion"
	CausePlate    = "plate"
	CauseAlarm    = "alarm"
	CauseAPI      = "api"
	CauseSchedule = "schedule"
)

// Causes lists the triggers a camera may be configured with.
var Causes = []string{CauseMotion, CausePlate, CauseAlarm, CauseAPI}

// Defaults of a Policy.
const (
	DefaultPre  = 10 * time.Second
	DefaultPost = 20 * time.Second
	// MaxPre bounds the memory a camera's pre-event buffer takes.
	MaxPre = 60 * time.Second
)

// Policy is one camera's recording.
type Policy struct {
	Mode     string // ModeContinuous or ModeEvent
	Pre      time.Duration
	Post     time.Duration
	On       []string // causes that start a recording (Causes)
	Schedule []Window // the main stream is recorded throughout these
	Motion   MotionOptions
}

// Continuous reports whether everything is recorded.
func (p Policy) Continuous() bool { return p.Mode != ModeEvent }

// Takes reports whether cause starts a recording of this camera.
func (p Policy) Takes(cause string) bool {
	for _, c := range p.On {
		if c == cause {
			return true
		}
	}
	return false
}

// MotionOptions tune motion detection on a camera's decoded frames.
type MotionOptions struct {
	FPS float64 // frames judged per second (default 3)
	// Threshold is the share of the unmasked picture that must change
	// between two judged frames (default 0.01: 1 %).
	Threshold float64
	// Mask lists rectangles in the stream's pixels where nothing counts
	// (a clock overlay, a flag in the wind, a road outside the yard).
	Mask []image.Rectangle
}

// Window is a weekly time window in the node's time zone, e.g.
// "mon-fri 08:00-18:00" or "sat 00:00-24:00".
type Window struct {
	Days     [7]bool // by time.Weekday
	From, To int     // minutes since midnight; To may be 1440; From > To crosses midnight
	Text     string
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseWindow reads "DAYS HH:MM-HH:MM" where DAYS is a day, a range
// ("mon-fri"), a list ("sat,sun") or "daily".
func ParseWindow(s string) (Window, error) {
	w := Window{Text: s}
	f := strings.Fields(strings.ToLower(s))
	if len(f) != 2 {
		return w, fmt.Errorf("schedule window %q: want DAYS HH:MM-HH:MM, e.g. \"mon-fri 08:00-18:00\"", s)
	}
	if f[0] == "daily" {
		for i := range w.Days {
			w.Days[i] = true
		}
	} else {
		for _, part := range strings.Split(f[0], ",") {
			a, b, isRange := strings.Cut(part, "-")
			da, ok1 := dayNames[a]
			db, ok2 := dayNames[b]
			if !ok1 || (isRange && !ok2) {
				return w, fmt.Errorf("schedule window %q: %q is not a day (mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri)", s, part)
			}
			if !isRange {
				db = da
			}
			for d := da; ; d = (d + 1) % 7 {
				w.Days[d] = true
				if d == db {
					break
				}
			}
		}
	}
	from, to, ok := strings.Cut(f[1], "-")
	var err error
	if !ok {
		return w, fmt.Errorf("schedule window %q: want a time range HH:MM-HH:MM", s)
	}
	if w.From, err = clock(from); err != nil {
		return w, fmt.Errorf("schedule window %q: %w", s, err)
	}
	if w.To, err = clock(to); err != nil {
		return w, fmt.Errorf("schedule window %q: %w", s, err)
	}
	if w.From == w.To {
		return w, fmt.Errorf("schedule window %q: an empty time range", s)
	}
	return w, nil
}

func clock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day (HH:MM, 00:00 to 24:00)", s)
	}
	return hh*60 + mm, nil
}

// Contains reports whether t (in the window's time zone) is inside.
func (w Window) Contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	if w.From < w.To {
		return w.Days[t.Weekday()] && m >= w.From && m < w.To
	}
	// across midnight: the evening belongs to its day, the morning to the day before
	if m >= w.From {
		return w.Days[t.Weekday()]
	}
	return m < w.To && w.Days[(t.Weekday()+6)%7]
}
