package federation

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

// A parent that starts empty after its child's retention dropped events
// it never received takes them as forgone, says so in an events.forgone
// event, and receives everything after them; its own parent is told the
// same through it — whether it hears of the drop when the link opens
// (the offer) or later, beside the events that follow (a batch). Without
// it the origin was held back for good.
func TestDroppedEventsAreForgoneUpTheTree(t *testing.T) {
	t.Run("offer", func(t *testing.T) { testForgone(t, false) })
	t.Run("batch", func(t *testing.T) { testForgone(t, true) })
}

func testForgone(t *testing.T, upFirst bool) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	regionID, _ := ca.identity("region", time.Time{}, time.Hour)
	siteID, _ := ca.identity("site", time.Time{}, time.Hour)
	site := openLog(t, "site")
	inc := site.Incarnation()
	old := time.Now().Add(-400 * 24 * time.Hour)
	for range 20 {
		if _, err := site.Append(event.Event{Kind: "test.tick", Time: old}); err != nil {
			t.Fatal(err)
		}
	}
	// the site's first parent took everything: retention may drop it
	first := openLog(t, "region")
	firstSrv := startServer(t, regionID, first, nil)
	_, stop := startClient(t, siteID, site, firstSrv.Addr())
	testkit.WaitFor(t, 10*time.Second, "the first parent holds the site's events", func() bool {
		h, _ := first.Held("site", inc)
		c, _ := site.Cursor("upstream")
		return h == inc+20 && c == site.Last()
	})
	stop()
	ret := &event.Retainer{Log: site, Keep: 365 * 24 * time.Hour}
	if s, err := ret.Sweep(); err != nil || s.Dropped != 19 {
		t.Fatalf("site sweep = %+v %v", s, err)
	}
	for range 5 {
		if _, err := site.Append(event.Event{Kind: "test.tick"}); err != nil {
			t.Fatal(err)
		}
	}

	// the region is replaced with an empty store, its parent too
	centre := openLog(t, "centre")
	centreSrv := startServer(t, centreID, centre, nil)
	region := openLog(t, "region")
	regionSrv := startServer(t, regionID, region, nil)
	var up *Client
	if upFirst {
		// the region's link is up before the site's events arrive: the
		// centre hears of the drop with the batch that follows it
		up, _ = startClient(t, regionID, region, centreSrv.Addr())
		testkit.WaitFor(t, 10*time.Second, "the region's link up", func() bool { return up.Status().Connected })
	}
	c, _ := startClient(t, siteID, site, regionSrv.Addr())
	if !upFirst {
		testkit.WaitFor(t, 10*time.Second, "the region holds the site's events", func() bool {
			h, _ := region.Held("site", inc)
			return h == inc+26
		})
		up, _ = startClient(t, regionID, region, centreSrv.Addr())
	}
	// seq inc+20 (a kept event) onwards, then the 5 new ones and the
	// site's events.compacted
	want := inc + 20 + 1 + 5
	for _, l := range []*event.Log{region, centre} {
		testkit.WaitFor(t, 10*time.Second, l.Origin()+" holds the site's events after the dropped ones", func() bool {
			h, _ := l.Held("site", inc)
			return h == want
		})
		got := 0
		all, _ := l.Range(0, 0)
		for _, e := range all {
			if e.Origin == "site" {
				got++
			}
		}
		if got != 7 { // inc+20 .. inc+26
			t.Fatalf("%s holds %d of the site's events, want 7", l.Origin(), got)
		}
		forgone, _ := l.Search(0, func(e event.Event) bool { return e.Kind == event.KindForgone && e.Origin == l.Origin() })
		if len(forgone) != 1 {
			t.Fatalf("%s: %d events.forgone, want 1", l.Origin(), len(forgone))
		}
		var f event.Forgone
		_ = json.Unmarshal(forgone[0].Payload, &f)
		via := map[string]string{"region": "site", "centre": "region"}[l.Origin()]
		if f.Origin != "site" || f.Inc != inc || f.From != inc+1 || f.To != inc+19 || f.Via != via {
			t.Fatalf("%s: forgone = %+v", l.Origin(), f)
		}
	}
	for _, l := range []*Client{c, up} {
		if st := l.Status(); len(st.HeldBack) != 0 {
			t.Fatalf("a link holds back: %+v", st.HeldBack)
		}
	}
	// the region's own forgone notice reached the centre too
	testkit.WaitFor(t, 10*time.Second, "the region's events.forgone at the centre", func() bool {
		n, _ := centre.Search(0, func(e event.Event) bool { return e.Kind == event.KindForgone && e.Origin == "region" })
		return len(n) == 1
	})
}
