package federation

import (
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

// NVMS-6.2 through the link: a parent whose clock runs 3 s ahead makes
// its child raise clock_skew once, naming the offset; the parent's clock
// back in step clears it.
func TestClockSkewRaisedAndCleared(t *testing.T) {
	ca := newPKI(t)
	parentID, _ := ca.identity("centre", time.Time{}, time.Hour)
	childID, _ := ca.identity("site", time.Time{}, time.Hour)
	var ahead atomic.Int64
	ahead.Store(int64(3 * time.Second))
	srv, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: parentID, Log: openLog(t, "centre"), MaySpeakFor: testSubtree,
		Clock: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, srv)
	siteLog := openLog(t, "site")
	cl, _ := startClientWith(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: childID, Log: siteLog, MaxClockSkew: time.Second})
	skew := func() []string {
		evs, _ := siteLog.Search(0, func(e event.Event) bool { return e.Kind == event.KindAlarmRaised || e.Kind == event.KindAlarmCleared })
		var out []string
		for i := len(evs) - 1; i >= 0; i-- { // oldest first
			out = append(out, evs[i].Kind+" "+string(evs[i].Payload))
		}
		return out
	}
	testkit.WaitFor(t, 10*time.Second, "clock_skew raised", func() bool { return len(skew()) == 1 })
	// the offset named is measured over the link: within a round trip of
	// 3 s (a loaded machine's heartbeat measured 2.999s)
	s := skew()[0]
	m := regexp.MustCompile(`clock differs from the parent's by ([0-9.]+m?s) \(limit 1s\)`).FindStringSubmatch(s)
	if !strings.HasPrefix(s, event.KindAlarmRaised) || !strings.Contains(s, "clock_skew") || m == nil {
		t.Fatalf("the alarm: %s", s)
	}
	if named, err := time.ParseDuration(m[1]); err != nil || named < 2900*time.Millisecond || named > 3100*time.Millisecond {
		t.Errorf("the alarm names an offset of %s, want 3s: %s", m[1], s)
	}
	if off := cl.Status().ClockOffset; off < 2900*time.Millisecond || off > 3100*time.Millisecond {
		t.Errorf("offset %v, want 3s", off)
	}
	time.Sleep(time.Second) // more heartbeats: raised once
	ahead.Store(0)
	testkit.WaitFor(t, 10*time.Second, "clock_skew cleared", func() bool { return len(skew()) == 2 })
	if s := skew(); !strings.HasPrefix(s[1], event.KindAlarmCleared) || strings.Count(strings.Join(s, "\n"), event.KindAlarmRaised) != 1 {
		t.Fatalf("alarms %v", s)
	}
}
