package checkpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// relay is the simulated barrier controller: it records the commands it
// takes and refuses them while down.
type relay struct {
	mu    sync.Mutex
	opens []Command
	down  bool
}

func (r *relay) Open(_ context.Context, c Command) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errors.New("connection refused")
	}
	r.opens = append(r.opens, c)
	return nil
}

func (r *relay) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.opens)
}

func (r *relay) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// crossing is a site with an entry, customs and an exit: cameras, a
// reader at the entry and at customs, a barrier at the exit, its tracker,
// index and desk running; restart kills all three and starts them again.
type crossing struct {
	t      testing.TB
	dir    string
	log    *event.Log
	idx    *Index
	desk   *Desk
	relay  *relay
	mu     sync.Mutex
	now    time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

func newCrossing(t testing.TB) *crossing {
	c := &crossing{t: t, dir: t.TempDir(), relay: &relay{}, now: t0}
	c.log = openLog(t, c.dir)
	c.start()
	t.Cleanup(c.stop)
	return c
}

func (c *crossing) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *crossing) at(d time.Duration) {
	c.mu.Lock()
	c.now = t0.Add(d)
	c.mu.Unlock()
}

var testZones = map[string]string{"gate-in": ZoneEntry, "customs": "customs", "gate-out": ZoneExit}

func (c *crossing) start() {
	c.idx = openIdx(c.t, c.dir)
	d, err := NewDesk(c.log, c.idx, DeskConfig{
		Readers:  []Reader{{ID: "entry-reader", Zone: "gate-in"}, {ID: "customs-reader", Zone: "customs"}},
		Barriers: []Barrier{{ID: "exit-barrier", Zone: "gate-out", Controller: c.relay}},
		Parties:  map[string]string{"customs-officer": PartyCustoms, "token:owner-erp": PartyOwner},
		ZoneKind: func(z string) (string, bool) { k, ok := testZones[z]; return k, ok },
		Now:      c.clock, CheckEvery: 50 * time.Millisecond,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.desk = d
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{}, 3)
	site := testSite
	site.Now = c.clock
	go func() { RunVisits(ctx, c.log, c.idx, site, nil); c.done <- struct{}{} }()
	go func() { c.idx.Follow(ctx, c.log, nil); c.done <- struct{}{} }()
	go func() { d.Run(ctx, nil); c.done <- struct{}{} }()
}

func (c *crossing) stop() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	for range 3 {
		<-c.done
	}
	c.cancel = nil
	c.idx.Close()
}

// restart stops the loops as a kill would and starts them again; wipe
// loses the index file too, so that everything comes from the log.
func (c *crossing) restart(wipe bool) {
	c.stop()
	if wipe {
		if err := os.Remove(filepath.Join(c.dir, "visits.db")); err != nil {
			c.t.Fatal(err)
		}
	}
	c.start()
	if err := c.idx.Sync(c.log); err != nil {
		c.t.Fatal(err)
	}
}

func (c *crossing) read(camera, plate string, at time.Duration) {
	c.t.Helper()
	e := event.New(plates.KindPlateRead, camera, event.SeverityInfo, plates.PlateRead{Plate: plate, Confidence: 0.99})
	e.Time = t0.Add(at)
	if _, err := c.log.Append(e); err != nil {
		c.t.Fatal(err)
	}
}

func (c *crossing) until(what string, f func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			c.t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cardAtEntry reads 123ABC02 at the entry and binds CARD-1 to it there,
// ten seconds later.
func (c *crossing) cardAtEntry() {
	c.t.Helper()
	c.read("EntryCam", "123ABC02", 0)
	c.visitOf("123ABC02")
	c.at(10 * time.Second)
	if _, err := c.desk.Present("entry-reader", "CARD-1"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *crossing) visitOf(plate string) Visit {
	c.t.Helper()
	var v Visit
	c.until("a visit of "+plate, func() bool {
		vs, _ := c.idx.Find(Query{Plate: plate})
		if len(vs) > 0 {
			v = vs[0]
		}
		return len(vs) > 0
	})
	return v
}

func (c *crossing) token(tok string) Token {
	t, _, err := c.idx.TokenOf("site", tok)
	if err != nil {
		c.t.Fatal(err)
	}
	return t
}

func status(err error) int {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Status
	}
	if err != nil {
		return 500
	}
	return 200
}

// A token presented at the entry is bound to the truck read there, before
// or after its plates were read, and matches its plates at customs; a token
// bound twice, an unknown token, a malformed one and an unknown reader are
// refused naming what was wrong, with nothing changed.
func TestTokenBindsAtTheEntryAndMatchesAtCustoms(t *testing.T) {
	c := newCrossing(t)
	c.read("EntryCam", "123ABC02", 0)
	v := c.visitOf("123ABC02")
	c.at(20 * time.Second)
	res, err := c.desk.Present("entry-reader", "CARD-1")
	if err != nil || res.Result != ResultBound || res.Visit != v.ID || res.Bound.Tractor != "123ABC02" {
		t.Fatalf("bound at the entry: %+v %v", res, err)
	}
	if _, err := c.desk.Present("entry-reader", "CARD-1"); status(err) != 409 || !strings.Contains(err.Error(), "already bound") {
		t.Fatalf("bound twice: %v", err)
	}
	for _, tc := range []struct {
		reader, token string
		code          int
		says          string
	}{
		{"customs-reader", "CARD-9", 404, "unknown token"},
		{"customs-reader", "CARD 1", 400, "token"},
		{"customs-reader", "", 400, "token: empty"},
		{"back-door", "CARD-1", 404, "reader"},
	} {
		if _, err := c.desk.Present(tc.reader, tc.token); status(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s at %s: %v, want %d naming %q", tc.token, tc.reader, err, tc.code, tc.says)
		}
	}

	// the second truck's card comes before its plates are read
	c.at(5 * time.Minute)
	if res, err := c.desk.Present("entry-reader", "CARD-2"); err != nil || res.Result != ResultPending {
		t.Fatalf("presented before the read: %+v %v", res, err)
	}
	c.read("EntryCam", "456DEF02", 5*time.Minute+30*time.Second)
	c.until("CARD-2 bound", func() bool { return c.token("CARD-2").Bound.Tractor == "456DEF02" })
	if v2 := c.visitOf("456DEF02"); v2.Token != "CARD-2" {
		t.Fatalf("the visit does not name its token: %+v", v2)
	}

	c.read("CustomsCam", "123ABC02", 10*time.Minute)
	c.until("at customs", func() bool { return len(c.visitOf("123ABC02").Passages) == 2 })
	c.at(10*time.Minute + 30*time.Second)
	if res, err := c.desk.Present("customs-reader", "CARD-1"); err != nil || res.Result != ResultMatch {
		t.Fatalf("at customs: %+v %v", res, err)
	}
	if n := countKinds(t, c.log); n[KindTokenBound] != 2 || n[KindTokenMatched] != 1 || n[KindCaseOpened] != 0 {
		t.Fatalf("events: %v", n)
	}
}

// A token whose plates are not those read at customs opens a case: the
// operator's third failed attempt blocks the token, raises a grave alarm
// and opens an investigation; a re-read with nothing new uses no attempt;
// unblocking needs a reason. After a kill at every step, with the index
// lost, the state is the same and nothing is filed twice.
func TestThreeAttemptsBlockTheToken(t *testing.T) {
	c := newCrossing(t)
	c.cardAtEntry()
	c.read("CustomsCam", "123ABD02", 10*time.Minute) // another vehicle, or a misread
	c.visitOf("123ABD02")
	c.at(10*time.Minute + 20*time.Second)
	res, err := c.desk.Present("customs-reader", "CARD-1")
	if err != nil || res.Result != ResultMismatch || res.Case == "" || res.Read.Tractor != "123ABD02" {
		t.Fatalf("mismatch: %+v %v", res, err)
	}
	c.restart(true)
	if _, err := c.desk.Present("customs-reader", "CARD-1"); status(err) != 409 || !strings.Contains(err.Error(), "case") {
		t.Fatalf("presented again with a case open: %v", err)
	}
	steps := []struct {
		req AttemptRequest
		ok  bool
	}{
		{AttemptRequest{Action: ActionCorrect, Tractor: "123ABD02"}, false},
		{AttemptRequest{Action: ActionManual, Tractor: "999ZZZ02"}, false},
	}
	if _, err := c.desk.Attempt(res.Case, AttemptRequest{Action: ActionReread}, "op"); status(err) != 409 || !strings.Contains(err.Error(), "no attempt was used") {
		t.Fatalf("a re-read with nothing new: %v", err)
	}
	for _, bad := range []AttemptRequest{{Action: "guess"}, {Action: ActionCorrect}, {Action: ActionReread, Tractor: "X"}} {
		if _, err := c.desk.Attempt(res.Case, bad, "op"); status(err) != 400 {
			t.Errorf("%+v: %v, want 400", bad, err)
		}
	}
	for i, s := range steps {
		cs, err := c.desk.Attempt(res.Case, s.req, "op")
		if err != nil || len(cs.Attempts) != i+1 || cs.State != CaseOpen {
			t.Fatalf("attempt %d: %+v %v", i+1, cs, err)
		}
		c.restart(i == 0)
	}
	// the third: a fresh read at customs that still is not the token's
	c.read("CustomsCam", "123ABD02", 12*time.Minute)
	c.until("the new read", func() bool { return len(c.visitOf("123ABD02").Passages) == 2 })
	c.at(12*time.Minute + 10*time.Second)
	cs, err := c.desk.Attempt(res.Case, AttemptRequest{Action: ActionReread}, "op")
	if err != nil || cs.State != CaseBlocked || len(cs.Attempts) != 3 || cs.Attempts[2].Read.Tractor != "123ABD02" {
		t.Fatalf("third attempt: %+v %v", cs, err)
	}
	if _, err := c.desk.Attempt(res.Case, AttemptRequest{Action: ActionManual, Tractor: "123ABC02"}, "op"); status(err) != 409 {
		t.Fatalf("a fourth attempt: %v", err)
	}
	for _, wipe := range []bool{true, false} {
		c.restart(wipe)
		if tok := c.token("CARD-1"); !tok.Blocked || tok.Case != res.Case {
			t.Fatalf("after a restart (wipe %v) the token is not blocked: %+v", wipe, tok)
		}
	}
	if _, err := c.desk.Present("customs-reader", "CARD-1"); status(err) != 409 || !strings.Contains(err.Error(), "blocked") {
		t.Fatalf("a blocked token presented: %v", err)
	}
	n := countKinds(t, c.log)
	if n[KindTokenBlocked] != 1 || n[event.KindAlarmRaised] != 1 || n[KindCaseAttempt] != 3 {
		t.Fatalf("events after the block: %v", n)
	}
	alarm := lastOf(t, c.log, event.KindAlarmRaised)
	if alarm.Severity != event.SeverityGrave || !strings.Contains(string(alarm.Payload), "investigation") {
		t.Fatalf("the block's alarm: %+v %s", alarm, alarm.Payload)
	}
	if _, err := c.desk.Unblock("CARD-1", "chief", " "); status(err) != 400 || !strings.Contains(err.Error(), "reason") {
		t.Fatalf("unblock without a reason: %v", err)
	}
	if tok, err := c.desk.Unblock("CARD-1", "chief", "driver's papers checked"); err != nil || tok.Blocked {
		t.Fatalf("unblock: %+v %v", tok, err)
	}
	if _, err := c.desk.Unblock("CARD-1", "chief", "again"); status(err) != 409 {
		t.Fatalf("unblock twice: %v", err)
	}
	c.restart(true)
	got, _, _ := c.idx.CaseOf(res.Case)
	if got.State != CaseBlocked || got.Unblocked == nil || got.Unblocked.User != "chief" || c.token("CARD-1").Blocked {
		t.Fatalf("the investigation after the unblock: %+v", got)
	}
	if n := countKinds(t, c.log); n[event.KindAlarmCleared] != 1 || n[KindTokenBlocked] != 1 {
		t.Fatalf("events after the unblock: %v", n)
	}
}

// A right correction settles the case.
func TestACorrectionSettlesTheCase(t *testing.T) {
	c := newCrossing(t)
	c.cardAtEntry()
	c.at(10 * time.Minute)
	res, err := c.desk.Present("customs-reader", "CARD-1") // nothing read at customs
	if err != nil || res.Result != ResultMismatch || !res.Read.Empty() {
		t.Fatalf("nothing read: %+v %v", res, err)
	}
	cs, err := c.desk.Attempt(res.Case, AttemptRequest{Action: ActionManual, Tractor: "123 abc 02"}, "op")
	if err != nil || cs.State != CaseResolved || !cs.Attempts[0].OK {
		t.Fatalf("the right plate entered: %+v %v", cs, err)
	}
	if tok := c.token("CARD-1"); tok.Case != "" || tok.Blocked {
		t.Fatalf("token after the case: %+v", tok)
	}

	// the card comes before the camera's read: the read, once filed,
	// settles the case; another vehicle's read would not
	c.at(20 * time.Minute)
	res, err = c.desk.Present("customs-reader", "CARD-1")
	if err != nil || res.Result != ResultMismatch || !res.Read.Empty() {
		t.Fatalf("nothing read yet: %+v %v", res, err)
	}
	c.read("CustomsCam", "555OTH02", 20*time.Minute+2*time.Second)
	c.visitOf("555OTH02")
	c.read("CustomsCam", "123ABC02", 20*time.Minute+5*time.Second)
	c.until("settled by the late read", func() bool { cs, _, _ := c.idx.CaseOf(res.Case); return cs.State == CaseResolved })
	cs, _, _ = c.idx.CaseOf(res.Case)
	if len(cs.Attempts) != 1 || cs.Attempts[0].User != "desk" || cs.Attempts[0].Read.Tractor != "123ABC02" {
		t.Fatalf("the late read's attempt: %+v", cs)
	}
	if tok := c.token("CARD-1"); tok.Case != "" || tok.Blocked {
		t.Fatalf("token after the case: %+v", tok)
	}
}

func lastOf(t *testing.T, l *event.Log, kind string) event.Event {
	t.Helper()
	evs, err := l.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == kind {
			return evs[i]
		}
	}
	t.Fatalf("no %s", kind)
	return event.Event{}
}

// The exit barrier opens only once customs and the owner have both
// granted the exit and the plates at the exit are the visit's; it never
// opens on a controller error, raises barrier_unreachable and opens once
// the controller is back. Bad permissions are refused naming the field,
// nothing changed. A kill after each step, with the index lost, changes
// nothing and opens nothing twice.
func TestTheExitBarrierNeedsBothKeys(t *testing.T) {
	c := newCrossing(t)
	c.read("EntryCam", "123ABC02", 0)
	v := c.visitOf("123ABC02")
	if _, err := c.desk.Grant(v.ID, "customs-officer"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		visit, who string
		code       int
		says       string
	}{
		{v.ID, "customs-officer", 409, "party: customs granted"},
		{v.ID, "bob", 403, "neither customs nor the site owner"},
		{"site/999", "token:owner-erp", 404, "visit"},
		{"other/1", "token:owner-erp", 404, "visit"},
	} {
		if _, err := c.desk.Grant(tc.visit, tc.who); status(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s by %s: %v, want %d naming %q", tc.visit, tc.who, err, tc.code, tc.says)
		}
	}
	c.restart(true)
	c.read("ExitCam", "123ABC02", 30*time.Minute)
	c.until("refused for want of the owner", func() bool {
		st, _ := c.desk.BarrierView("exit-barrier")
		return st.State == BarrierWaiting && len(st.Missing) == 1 && st.Missing[0] == PartyOwner
	})
	if c.relay.count() != 0 {
		t.Fatal("opened on one key")
	}
	c.restart(true)
	c.relay.setDown(true)
	if _, err := c.desk.Grant(v.ID, "token:owner-erp"); err != nil {
		t.Fatalf("the owner's permission for a vehicle waiting at the barrier: %v", err)
	}
	st, _ := c.desk.BarrierView("exit-barrier")
	if st.State != BarrierFailed || c.relay.count() != 0 {
		t.Fatalf("with the controller down: %+v", st)
	}
	if n := countKinds(t, c.log); n[event.KindAlarmRaised] != 1 {
		t.Fatalf("no barrier_unreachable: %v", n)
	}
	time.Sleep(300 * time.Millisecond) // a few retries while it is down
	if n := countKinds(t, c.log); n[KindBarrierFailed] != 1 {
		t.Fatalf("a controller down is filed once: %v", n)
	}
	c.restart(true)
	c.relay.setDown(false)
	c.until("opened once the controller is back", func() bool { return c.relay.count() == 1 })
	c.until("filed", func() bool { st, _ := c.desk.BarrierView("exit-barrier"); return st.State == BarrierOpened })
	for _, wipe := range []bool{true, false} {
		c.restart(wipe)
		time.Sleep(200 * time.Millisecond)
		if c.relay.count() != 1 {
			t.Fatalf("opened again after a restart: %d", c.relay.count())
		}
	}
	n := countKinds(t, c.log)
	if n[KindBarrierOpened] != 1 || n[event.KindAlarmCleared] != 1 || n[KindExitGranted] != 2 {
		t.Fatalf("events: %v", n)
	}
	if _, err := c.desk.Grant(v.ID, "token:owner-erp"); status(err) != 409 {
		t.Fatalf("a permission for a visit gone: %v", err)
	}

	// the next truck, by hand
	c.read("EntryCam", "777AAA02", 40*time.Minute)
	v2 := c.visitOf("777AAA02")
	for _, who := range []string{"customs-officer", "token:owner-erp"} {
		if _, err := c.desk.Grant(v2.ID, who); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.desk.Override("exit-barrier", "chief", ""); status(err) != 400 {
		t.Fatalf("an override without a reason: %v", err)
	}
	if _, err := c.desk.Override("side-gate", "chief", "x"); status(err) != 404 {
		t.Fatalf("an override of an unknown barrier: %v", err)
	}
	if st, err := c.desk.Override("exit-barrier", "chief", "fire drill"); err != nil || !st.Manual || c.relay.count() != 2 {
		t.Fatalf("override: %+v %v", st, err)
	}
}

// A reader that sends heartbeats and falls silent raises reader_silent
// once, cleared when it is heard again.
func TestSilentReader(t *testing.T) {
	c := newCrossing(t)
	d, err := NewDesk(c.log, c.idx, DeskConfig{
		Readers:  []Reader{{ID: "gate-reader", Zone: "gate-in", MaxSilence: time.Minute}},
		ZoneKind: func(z string) (string, bool) { k, ok := testZones[z]; return k, ok },
		Now:      c.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.at(30 * time.Second)
	if err := d.check(); err != nil {
		t.Fatal(err)
	}
	c.at(2 * time.Minute)
	for range 2 {
		if err := d.check(); err != nil {
			t.Fatal(err)
		}
	}
	if n := countKinds(t, c.log); n[event.KindAlarmRaised] != 1 {
		t.Fatalf("silent for 2 minutes: %v", n)
	}
	if a := lastOf(t, c.log, event.KindAlarmRaised); a.Severity != event.SeverityMedium || !strings.Contains(string(a.Payload), AlarmReaderSilent) {
		t.Fatalf("the alarm: %+v %s", a, a.Payload)
	}
	d.Heard("gate-reader")
	if err := d.check(); err != nil {
		t.Fatal(err)
	}
	if n := countKinds(t, c.log); n[event.KindAlarmCleared] != 1 {
		t.Fatalf("heard again: %v", n)
	}
}

// A card handed to the next truck is not held by a case its last truck
// left open: the case stays in the queue, the new binding starts clean.
func TestACardRebindsPastAnOpenCase(t *testing.T) {
	c := newCrossing(t)
	c.cardAtEntry()
	c.at(5 * time.Minute)
	res, err := c.desk.Present("customs-reader", "CARD-1") // nothing read: a case
	if err != nil || res.Result != ResultMismatch {
		t.Fatalf("%+v %v", res, err)
	}
	c.read("ExitCam", "123ABC02", 6*time.Minute)
	c.until("the first truck left", func() bool { return !c.visitOf("123ABC02").Open() })
	c.read("EntryCam", "456DEF02", 10*time.Minute)
	c.visitOf("456DEF02")
	c.at(10*time.Minute + 10*time.Second)
	if r, err := c.desk.Present("entry-reader", "CARD-1"); err != nil || r.Bound.Tractor != "456DEF02" {
		t.Fatalf("the card for the next truck: %+v %v", r, err)
	}
	c.read("CustomsCam", "456DEF02", 12*time.Minute)
	c.until("at customs", func() bool { return len(c.visitOf("456DEF02").Passages) == 2 })
	c.at(12*time.Minute + 10*time.Second)
	if r, err := c.desk.Present("customs-reader", "CARD-1"); err != nil || r.Result != ResultMatch {
		t.Fatalf("the next truck at customs: %+v %v", r, err)
	}
	if cs, _, _ := c.idx.CaseOf(res.Case); cs.State != CaseOpen {
		t.Fatalf("the old case: %+v", cs)
	}
}
