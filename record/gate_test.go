package record

import (
	"log/slog"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/testcam"
)

// fakeRecorder notes what reaches the archive.
type fakeRecorder struct {
	units    []*media.Unit
	suspends []string
	closed   bool
}

func (f *fakeRecorder) WriteUnit(u *media.Unit) error { f.units = append(f.units, u); return nil }
func (f *fakeRecorder) Suspend(r string) error        { f.suspends = append(f.suspends, r); return nil }
func (f *fakeRecorder) Close() error                  { f.closed = true; return nil }

func TestWindows(t *testing.T) {
	loc := time.UTC
	at := func(day, hm string) time.Time {
		tt, err := time.ParseInLocation("2006-01-02 15:04", "2026-12-"+day+" "+hm, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	// 2026-12-07 is a Monday
	for _, c := range []struct {
		w    string
		at   time.Time
		want bool
	}{
		{"mon-fri 08:00-18:00", at("07", "08:00"), true},
		{"mon-fri 08:00-18:00", at("07", "18:00"), false},
		{"mon-fri 08:00-18:00", at("12", "12:00"), false}, // Saturday
		{"sat,sun 00:00-24:00", at("13", "23:59"), true},
		{"fri-mon 22:00-06:00", at("07", "05:59"), true}, // Monday morning belongs to Sunday's night
		{"fri-mon 22:00-06:00", at("08", "05:59"), true}, // Tuesday morning: Monday's night
		{"fri-mon 22:00-06:00", at("09", "05:59"), false},
		{"daily 12:00-13:00", at("10", "12:30"), true},
	} {
		w, err := ParseWindow(c.w)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.Contains(c.at); got != c.want {
			t.Errorf("%s at %s: %v", c.w, c.at.Format("Mon 15:04"), got)
		}
	}
	for _, bad := range []string{"", "mon", "funday 08:00-09:00", "mon 8-9", "mon 09:00-09:00", "mon 25:00-26:00", "mon 08:00-24:01"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The gate keeps whole GOPs covering the pre-event seconds, passes
// everything while triggered and until the post-event time, then suspends
// the recorder; a continuous camera passes everything.
func TestGate(t *testing.T) {
	clip, err := testcam.Demo()
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTriggers(time.UTC, slog.New(slog.DiscardHandler), nil)
	tr.SetPolicy("Gate1", Policy{Mode: ModeEvent, Pre: 3 * time.Second, Post: 2 * time.Second, On: []string{CausePlate}})
	rec := &fakeRecorder{}
	g := tr.Gate("Gate1", media.H264, rec)
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	n := 0
	feed := func(d time.Duration) {
		for end := n + int(d/(40*time.Millisecond)); n < end; n++ {
			fr := clip.Frames[n%len(clip.Frames)]
			u := &media.Unit{NALUs: fr.NALUs, PTS: int64(n) * 3600, Time: t0.Add(time.Duration(n) * 40 * time.Millisecond), Size: 1}
			if err := g.WriteUnit(u); err != nil {
				t.Fatal(err)
			}
		}
	}
	feed(10 * time.Second)
	if len(rec.units) != 0 {
		t.Fatalf("%d units recorded before any event", len(rec.units))
	}
	if tr.Fire("Gate1", CauseMotion, t0.Add(10*time.Second)) {
		t.Fatal("a cause the camera does not take fired")
	}
	if !tr.Fire("Gate1", CausePlate, t0.Add(10*time.Second)) {
		t.Fatal("a plate read did not fire")
	}
	feed(5 * time.Second)
	if len(rec.units) == 0 || !rec.units[0].RandomAccess(media.H264) {
		t.Fatal("the recording does not start at a keyframe")
	}
	first, last := rec.units[0].Time, rec.units[len(rec.units)-1].Time
	if pre := t0.Add(10 * time.Second).Sub(first); pre < 3*time.Second || pre > 4*time.Second+time.Millisecond {
		t.Errorf("%v kept before the event, want 3 s up to a GOP more", pre)
	}
	if post := last.Sub(t0.Add(10 * time.Second)); post < 2*time.Second-40*time.Millisecond || post > 2*time.Second {
		t.Errorf("%v recorded after the event, want 2 s", post)
	}
	if len(rec.suspends) != 1 {
		t.Fatalf("suspended %d times", len(rec.suspends))
	}
	// units in order, none twice
	for i := 1; i < len(rec.units); i++ {
		if rec.units[i].PTS != rec.units[i-1].PTS+3600 {
			t.Fatalf("unit %d out of order", i)
		}
	}
	// a continuous camera (by policy change) passes everything from now
	tr.SetPolicy("Gate1", Policy{Mode: ModeContinuous})
	before := len(rec.units)
	feed(2 * time.Second)
	if len(rec.units)-before < 49 {
		t.Fatalf("continuous: %d of 50 units recorded", len(rec.units)-before)
	}
	if err := g.Close(); err != nil || !rec.closed {
		t.Fatal("close")
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{"mon-fri 08:00-18:00", "daily 22:00-06:00", "sat,sun 00:00-24:00", "fri-mon 1:2-3:4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWindow(s)
		if err != nil {
			return
		}
		if w.From < 0 || w.From > 1440 || w.To < 0 || w.To > 1440 || w.From == w.To {
			t.Fatalf("%q: %+v", s, w)
		}
		w.Contains(time.Date(2026, 12, 5, 23, 59, 0, 0, time.UTC)) // never panics
	})
}
