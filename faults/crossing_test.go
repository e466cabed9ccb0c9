package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The checkpoint under faults: while the schedule plays, trucks are
// driven one after another through the site's crossing as its devices
// and parties would: a read at the entry camera and the card at the entry
// reader, a read at customs and the card at the customs reader, customs'
// and the owner's exit permissions, a read at the exit. Every request is
// repeated until the site takes it (it may be killed or paused). After
// the run:
//   - safety: the barrier's relay was never commanded, and no
//     barrier.opened was filed, for a visit without both permissions in
//     the site's log;
//   - nothing lost: each truck all of whose steps were taken has its card
//     matched and exactly one barrier.opened for its visit;
//   - the tree: the centre's visits of the site (which came through
//     whichever region replica the site was linked to) are the site's.

const (
	entryReaderToken   = "faults-entry-reader-token"
	customsReaderToken = "faults-customs-reader-token"
)

// crossing is the workload: the barrier's relay, and what was driven.
type crossing struct {
	relay *httptest.Server

	mu     sync.Mutex
	opens  map[string]int // visit -> relay commands
	trucks []*truck
}

type truck struct {
	n           int
	plate, card string
	visit       string
	done        bool   // every step taken
	stuck       string // the step that was never taken, and why
}

func newCrossing(t *testing.T) *crossing {
	x := &crossing{opens: map[string]int{}}
	x.relay = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c struct{ Visit, Action string }
		if json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&c) != nil || c.Action != "open" {
			http.Error(w, "bad command", http.StatusBadRequest)
			return
		}
		x.mu.Lock()
		x.opens[c.Visit]++
		x.mu.Unlock()
	}))
	t.Cleanup(x.relay.Close)
	return x
}

// siteConfig is the site's part of the crossing: the parties' users, the
// zones, the cameras that post their own reads, the readers and barrier.
func (x *crossing) siteConfig(hash string) string {
	var b strings.Builder
	for _, u := range []string{"customs", "owner"} {
		fmt.Fprintf(&b, "  - {name: %s, role: operator, password_hash: %q}\n", u, hash)
	}
	b.WriteString("zones:\n  - {id: gate-in, kind: entry}\n  - {id: customs, kind: customs}\n  - {id: gate-out, kind: exit}\n")
	b.WriteString("checkpoint:\n  readers:\n")
	fmt.Fprintf(&b, "    - {id: entry-reader, zone: gate-in, token: %s}\n", entryReaderToken)
	fmt.Fprintf(&b, "    - {id: customs-reader, zone: customs, token: %s}\n", customsReaderToken)
	fmt.Fprintf(&b, "  barriers:\n    - {id: exit-barrier, zone: gate-out, url: %q}\n", x.relay.URL+"/relay")
	b.WriteString("  exit_parties: {customs: [customs], owner: [owner]}\n")
	return b.String()
}

// siteCameras are the crossing's cameras (their own ANPR posts reads).
func (x *crossing) siteCameras() string {
	var b strings.Builder
	for _, c := range [][2]string{{"Entry", "gate-in"}, {"Customs", "customs"}, {"Exit", "gate-out"}} {
		fmt.Fprintf(&b, "  - {id: %s, url: \"rtsp://127.0.0.1:1/%s\", disabled: true, zone: %s, anpr: {ingest: {format: generic, token: faults-%s-camera-token}}}\n",
			c[0], strings.ToLower(c[0]), c[1], strings.ToLower(c[0]))
	}
	return b.String()
}

// party is a session of a party's officer at the site, logging in again
// when the site lost the session.
type party struct {
	base, user string
	hc         *http.Client
	csrf       string
}

func newParty(base, user string) *party {
	jar, _ := cookiejar.New(nil)
	return &party{base: base, user: user, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// send makes one request: bearer authenticates a device, else the
// party's session. It returns the status and body.
func send(ctx context.Context, hc *http.Client, method, url, bearer, csrf string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, b, nil
}

func (p *party) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	if p.csrf == "" {
		code, b, err := send(ctx, p.hc, "POST", p.base+"/api/v1/auth/login", "", "", map[string]string{"user": p.user, "password": apiPassword})
		if err != nil || code != 200 {
			return code, b, err
		}
		var s struct {
			CSRF string `json:"csrf_token"`
		}
		_ = json.Unmarshal(b, &s)
		p.csrf = s.CSRF
	}
	code, b, err := send(ctx, p.hc, method, p.base+path, "", p.csrf, body)
	if code == http.StatusUnauthorized {
		p.csrf = "" // the site lost the session: log in again next time
	}
	return code, b, err
}

// until repeats f until it says done, for at most limit.
func until(ctx context.Context, limit time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		ok, err := f()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if last == nil {
				last = fmt.Errorf("not done within %v", limit)
			}
			return last
		}
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
	}
}

type siteVisit struct {
	ID       string
	Site     string
	Tractor  string
	Token    string
	Closed   *time.Time
	Exit     map[string]json.RawMessage
	Passages []struct{ Zone, Tractor string }
}

// drive runs trucks through the crossing until stop closes.
func (x *crossing) drive(ctx context.Context, base string, stop <-chan struct{}) {
	hc := &http.Client{Timeout: 10 * time.Second}
	customs, owner := newParty(base, "customs"), newParty(base, "owner")
	post := func(path, bearer string, body any, ok ...int) func() (bool, error) {
		return func() (bool, error) {
			code, b, err := send(ctx, hc, "POST", base+path, bearer, "", body)
			if err != nil {
				return false, err
			}
			for _, c := range ok {
				if code == c {
					return true, nil
				}
			}
			return false, fmt.Errorf("%s: %d %s", path, code, bytes.TrimSpace(b))
		}
	}
	visitOf := func(t *truck, zone string) func() (bool, error) {
		return func() (bool, error) {
			code, b, err := customs.do(ctx, "GET", "/api/v1/visits?state=open&limit=1000&zone="+zone, nil)
			if err != nil || code != 200 {
				return false, fmt.Errorf("visits: %d %v", code, err)
			}
			var body struct{ Visits []siteVisit }
			if err := json.Unmarshal(b, &body); err != nil {
				return false, err
			}
			for _, v := range body.Visits {
				if v.Tractor == t.plate && (zone != "gate-in" || v.Token == t.card) {
					t.visit = v.ID
					return true, nil
				}
			}
			return false, nil
		}
	}
	grant := func(p *party, t *truck) func() (bool, error) {
		return func() (bool, error) {
			code, b, err := p.do(ctx, "POST", "/api/v1/visits/"+t.visit+"/exit", nil)
			if err != nil {
				return false, err
			}
			// 409: granted already (an answer lost to a kill)
			return code == 200 || (code == 409 && bytes.Contains(b, []byte("granted the exit"))), fmt.Errorf("grant by %s: %d %s", p.user, code, bytes.TrimSpace(b))
		}
	}
	for n := 1; ; n++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		t := &truck{n: n, plate: fmt.Sprintf("%03dFLT02", n%1000), card: fmt.Sprintf("CARD-%04d", n)}
		x.mu.Lock()
		x.trucks = append(x.trucks, t)
		x.mu.Unlock()
		steps := []struct {
			name string
			f    func() (bool, error)
		}{
			{"entry read", post("/api/v1/cameras/Entry/plates", "faults-entry-camera-token", map[string]any{"plate": t.plate, "confidence": 0.97}, 200)},
			{"entry card", post("/api/v1/readers/entry-reader/presentations", entryReaderToken, map[string]string{"token": t.card}, 200, 202, 409)},
			{"card bound", visitOf(t, "gate-in")},
			{"customs read", post("/api/v1/cameras/Customs/plates", "faults-customs-camera-token", map[string]any{"plate": t.plate, "confidence": 0.97}, 200)},
			{"at customs", visitOf(t, "customs")},
			{"customs card", post("/api/v1/readers/customs-reader/presentations", customsReaderToken, map[string]string{"token": t.card}, 200)},
			{"customs grant", grant(customs, t)},
			{"owner grant", grant(owner, t)},
			{"exit read", post("/api/v1/cameras/Exit/plates", "faults-exit-camera-token", map[string]any{"plate": t.plate, "confidence": 0.97}, 200)},
		}
		for _, s := range steps {
			if err := until(ctx, 90*time.Second, s.f); err != nil {
				x.mu.Lock()
				t.stuck = fmt.Sprintf("%s: %v", s.name, err)
				x.mu.Unlock()
				break
			}
		}
		x.mu.Lock()
		t.done = t.stuck == ""
		x.mu.Unlock()
	}
}

// checkLog holds the site's log and the relay's commands against the
// invariants: the violations, the trucks through every step, the relay
// commands for them, and the trucks not through. Called with x.mu held.
func (x *crossing) checkLog(site []ev) (bad []string, done, commands int, stuck []string) {
	granted := map[string]map[string]bool{} // visit -> parties, in log order
	opened := map[string]int{}
	matched := map[string]bool{} // card
	for _, e := range site {
		if e.Origin != siteID {
			continue
		}
		var p struct {
			Visit, Party, Token string
			Manual              bool
		}
		_ = json.Unmarshal(e.Payload, &p)
		switch e.Kind {
		case "exit.granted":
			if granted[p.Visit] == nil {
				granted[p.Visit] = map[string]bool{}
			}
			granted[p.Visit][p.Party] = true
		case "barrier.opened":
			if !p.Manual && !(granted[p.Visit]["customs"] && granted[p.Visit]["owner"]) {
				bad = append(bad, fmt.Sprintf("checkpoint: %s filed barrier.opened for visit %s before both permissions (%v)", e.ID(), p.Visit, granted[p.Visit]))
			}
			opened[p.Visit]++
		case "token.matched":
			matched[p.Token] = true
		}
	}
	for v, n := range x.opens {
		if !(granted[v]["customs"] && granted[v]["owner"]) {
			bad = append(bad, fmt.Sprintf("checkpoint: the relay was commanded %d times for visit %s, which has not both permissions in the site's log", n, v))
		}
	}
	sort.Strings(bad)
	for _, t := range x.trucks {
		if !t.done {
			stuck = append(stuck, fmt.Sprintf("truck %d (%s): %s", t.n, t.plate, t.stuck))
			continue
		}
		done++
		commands += x.opens[t.visit]
		if !matched[t.card] {
			bad = append(bad, fmt.Sprintf("checkpoint: truck %d's card %s was never matched at customs", t.n, t.card))
		}
		if opened[t.visit] != 1 {
			bad = append(bad, fmt.Sprintf("checkpoint: truck %d (visit %s): %d barrier.opened, want exactly 1", t.n, t.visit, opened[t.visit]))
		}
		if x.opens[t.visit] < 1 {
			bad = append(bad, fmt.Sprintf("checkpoint: truck %d (visit %s): the relay was never commanded", t.n, t.visit))
		}
	}
	return bad, done, commands, stuck
}

// check holds the site's log, the relay's commands and the centre's visits
// against the invariants; it returns the violations and a summary.
func (x *crossing) check(ctx context.Context, site []ev, siteAPI, centreAPI *client) ([]string, string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	bad, done, commands, stuck := x.checkLog(site)
	// the centre's visits of the site are the site's (its index follows
	// its log: a few seconds to settle)
	var own struct{ Visits []siteVisit }
	var diff []string
	_ = until(ctx, 20*time.Second, func() (bool, error) {
		diff = nil
		var held struct{ Visits []siteVisit }
		if err := siteAPI.get(ctx, "/api/v1/visits?limit=1000", &own); err != nil {
			diff = append(diff, "checkpoint: harness: the site's visits: "+err.Error())
		}
		if err := centreAPI.get(ctx, "/api/v1/visits?limit=1000&site="+siteID, &held); err != nil {
			diff = append(diff, "checkpoint: harness: the centre's visits: "+err.Error())
		}
		say := func(v siteVisit) string {
			return fmt.Sprintf("%s %s closed=%v token=%s grants=%d passages=%d", v.ID, v.Tractor, v.Closed != nil, v.Token, len(v.Exit), len(v.Passages))
		}
		at := map[string]string{}
		for _, v := range held.Visits {
			at[v.ID] = say(v)
		}
		for _, v := range own.Visits {
			if got, ok := at[v.ID]; !ok || got != say(v) {
				diff = append(diff, fmt.Sprintf("checkpoint: the centre holds visit %s as %q, the site as %q", v.ID, got, say(v)))
			}
		}
		if len(held.Visits) != len(own.Visits) {
			diff = append(diff, fmt.Sprintf("checkpoint: the centre holds %d visits of the site, the site %d", len(held.Visits), len(own.Visits)))
		}
		return len(diff) == 0, nil
	})
	bad = append(bad, diff...)
	sort.Strings(stuck)
	summary := fmt.Sprintf("checkpoint: %d trucks driven, %d through every step (barrier opened once each after both permissions; %d relay commands), %d visits at the site and the centre",
		len(x.trucks), done, commands, len(own.Visits))
	if len(stuck) > 0 {
		summary += "\n  not through (the site held down longer than a step's 90 s, or the faults ended first):\n    " + strings.Join(stuck, "\n    ")
	}
	return bad, summary
}

// The crossing's invariants find each violation: an opening before both
// permissions, a relay command for a visit with one key, a truck through
// every step whose barrier opened twice or never, a card never matched.
func TestCrossingCheckFindsEachViolation(t *testing.T) {
	evt := func(seq uint64, kind, payload string) ev {
		return ev{Origin: siteID, Seq: seq, Kind: kind, Payload: json.RawMessage(payload)}
	}
	x := &crossing{opens: map[string]int{"site/1": 1, "site/2": 1, "site/3": 2}}
	x.trucks = []*truck{
		{n: 1, card: "C1", visit: "site/1", done: true},
		{n: 2, card: "C2", visit: "site/2", done: true},
		{n: 3, card: "C3", visit: "site/3", done: true},
		{n: 4, card: "C4", visit: "site/4", stuck: "exit read: HTTP 503"},
	}
	log := []ev{
		evt(1, "token.matched", `{"token":"C1"}`),
		evt(2, "exit.granted", `{"visit":"site/1","party":"customs"}`),
		evt(3, "exit.granted", `{"visit":"site/1","party":"owner"}`),
		evt(4, "barrier.opened", `{"visit":"site/1"}`), // fine
		evt(5, "token.matched", `{"token":"C2"}`),
		evt(6, "exit.granted", `{"visit":"site/2","party":"customs"}`),
		evt(7, "barrier.opened", `{"visit":"site/2"}`), // one key
		evt(8, "exit.granted", `{"visit":"site/2","party":"owner"}`),
		evt(9, "exit.granted", `{"visit":"site/3","party":"customs"}`),
		evt(10, "exit.granted", `{"visit":"site/3","party":"owner"}`),
		evt(11, "barrier.opened", `{"visit":"site/3"}`),
		evt(12, "barrier.opened", `{"visit":"site/3"}`), // twice; C3 never matched
		evt(13, "barrier.opened", `{"visit":"","manual":true}`),
	}
	bad, done, commands, stuck := x.checkLog(log)
	want := []string{"site/7 filed barrier.opened for visit site/2 before both", "truck 3's card C3 was never matched", "truck 3 (visit site/3): 2 barrier.opened"}
	for _, w := range want {
		found := false
		for _, b := range bad {
			found = found || strings.Contains(b, w)
		}
		if !found {
			t.Errorf("no violation %q in %q", w, bad)
		}
	}
	if len(bad) != len(want) || done != 3 || commands != 4 || len(stuck) != 1 {
		t.Fatalf("%d violations %q, %d done, %d commands, stuck %q", len(bad), bad, done, commands, stuck)
	}
	x.opens["site/9"] = 1
	if bad, _, _, _ := x.checkLog(log); len(bad) != len(want)+1 || !strings.Contains(strings.Join(bad, "\n"), "relay was commanded 1 times for visit site/9") {
		t.Fatalf("a command without permissions: %q", bad)
	}
}
