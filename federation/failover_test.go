package federation

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/netfault"
	"github.com/kuzet/kuzet/internal/testkit"
)

// A child linked to one replica of its parent tier moves to another when
// the first dies, with the default timings: the status says so within the
// heartbeat deadline and the child is linked again within 5 s. Events
// appended meanwhile all reach the second replica.
func TestFailoverToAnotherReplica(t *testing.T) {
	testkit.Long(t)
	for _, tc := range []struct {
		name   string
		silent bool // the replica vanishes without closing its links
		hole   bool // the next replica in the list is unreachable too
	}{
		{"silent death", true, false},
		{"shutdown", false, false},
		{"silent death, next replica unreachable", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKI(t)
			id1, _ := p.identity("region-a1", time.Time{}, time.Hour)
			id2, _ := p.identity("region-a2", time.Time{}, time.Hour)
			childID, _ := p.identity("site-x", time.Time{}, time.Hour)
			log1, log2, siteLog := openLog(t, "region-a1"), openLog(t, "region-a2"), openLog(t, "site-x")

			// replica 1 sits behind a relay whose cut drops everything, like
			// a dead host; replica 2 is reachable directly
			srv1, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: id1, Log: log1})
			if err != nil {
				t.Fatal(err)
			}
			ctx1, kill1 := context.WithCancel(context.Background())
			done1 := make(chan struct{})
			go func() { srv1.Run(ctx1); close(done1) }()
			t.Cleanup(func() { kill1(); <-done1 })
			relay, err := netfault.NewRelay(srv1.Addr())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(relay.Close)
			srv2 := startServer(t, id2, log2, nil)
			upstream, holeAddr := []string{relay.Addr(), srv2.Addr()}, ""
			if tc.hole {
				hole, err := netfault.NewRelay(srv2.Addr())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(hole.Close)
				hole.Cut() // answers nothing, ever
				holeAddr = hole.Addr()
				upstream = []string{relay.Addr(), holeAddr, srv2.Addr()}
			}

			// the defaults a node runs with: only the addresses are given
			cl := NewClient(ClientOptions{Upstream: upstream, Identity: childID, Log: siteLog,
				Logger: slog.New(slog.DiscardHandler)})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { cl.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })

			var ids []string // of every event appended, in order
			emit := func(from, to int) {
				for i := from; i < to; i++ {
					e, err := siteLog.Append(event.New("test.tick", "Camera1", "", map[string]int{"n": i}))
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, e.ID())
				}
			}
			emit(0, 20)
			testkit.WaitFor(t, 10*time.Second, "link to region-a1", func() bool {
				st := cl.Status()
				return st.Connected && st.Parent == "region-a1" && st.RTT > 0
			})
			testkit.WaitFor(t, 10*time.Second, "first events at region-a1", func() bool { return countOrigin(t, log1, "site-x") == 20 })
			time.Sleep(2500 * time.Millisecond) // a settled link, several heartbeats old
			// die right after a pong: the longest the child can take to notice
			lastPong := func() time.Time { cl.mu.Lock(); defer cl.mu.Unlock(); return cl.alive }
			for before := lastPong(); lastPong().Equal(before); {
				time.Sleep(time.Millisecond)
			}

			// watch the status from before the death, so even a switch
			// faster than the kill's own return is seen
			type observed struct {
				down, up time.Duration
				during   LinkStatus
				sawDown  bool // a look fell between the loss and the new link
				tried    map[string]bool
			}
			watched, start := make(chan observed, 1), make(chan time.Time)
			go func() {
				r := observed{tried: map[string]bool{}}
				died := <-start
				for deadline := died.Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					st := cl.Status()
					if !st.Connected {
						r.tried[st.Address] = true
					}
					if r.down == 0 && !st.Connected {
						r.down, r.during, r.sawDown = max(time.Since(died), time.Nanosecond), st, true
					}
					if st.Connected && st.Parent == "region-a2" {
						r.up = time.Since(died)
						if r.down == 0 { // switched between two looks
							r.down = r.up
						}
						break
					}
				}
				watched <- r
			}()
			start <- time.Now()
			if tc.silent {
				relay.Cut() // not a packet more either way: no close reaches the child
			}
			kill1()
			<-done1
			emit(20, 40) // appended during the switch
			r := <-watched
			down, up, during := r.down, r.up, r.during
			how := "the switch fell between two looks"
			if r.sawDown {
				how = fmt.Sprintf("%+v", during)
			}
			t.Logf("%s: status connected:false after %v (%s); linked to region-a2 after %v",
				tc.name, down.Round(time.Millisecond), how, up.Round(time.Millisecond))
			if down == 0 || down > 3*time.Second {
				t.Errorf("dead replica noticed after %v, want at most 3s", down)
			}
			if up == 0 || up > 5*time.Second {
				t.Errorf("linked to the other replica after %v, want at most 5s", up)
			}
			if r.sawDown && (during.Address == "" || during.LastError == "") {
				t.Errorf("status while down names no address or reason: %+v", during)
			}
			if tc.hole && !r.tried[holeAddr] {
				t.Errorf("status never named the unreachable replica being tried (%s): saw %v", holeAddr, r.tried)
			}

			emit(40, 50)
			defer func() {
				if t.Failed() {
					t.Logf("child status %+v; %d site events at region-a2", cl.Status(), countOrigin(t, log2, "site-x"))
				}
			}()
			held := func(l *event.Log) map[string]int {
				n := map[string]int{}
				all, _ := l.Range(0, 0)
				for _, e := range all {
					if e.Origin == "site-x" {
						n[e.ID()]++
					}
				}
				return n
			}
			testkit.WaitFor(t, 10*time.Second, "every event from the switch on at region-a2", func() bool {
				at2 := held(log2)
				for _, id := range ids[20:] {
					if at2[id] == 0 {
						return false
					}
				}
				return true
			})
			at1, at2 := held(log1), held(log2)
			for _, id := range ids {
				if at2[id] > 1 {
					t.Errorf("event %s %d times at region-a2", id, at2[id])
				}
				if at1[id]+at2[id] == 0 {
					t.Errorf("event %s reached neither replica", id)
				}
			}
		})
	}
}
