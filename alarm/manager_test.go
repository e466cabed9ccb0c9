package alarm

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// One condition through its life: raise, repeats within the dedupe window,
// acknowledgement (with the audit hook), clear, a flap within the
// suppression window that re-opens the same alarm, a re-raise that keeps it
// open, and a raise long after the last sighting that supersedes it.
func TestLifecycle(t *testing.T) {
	var audit []string
	var mu sync.Mutex
	n := newNode(t, "site-1", Options{
		Rules: Rules{Dedupe: time.Minute, Suppress: 5 * time.Minute, Escalate: map[event.Severity]time.Duration{}},
		OnAck: func(user, id, comment string) {
			mu.Lock()
			defer mu.Unlock()
			audit = append(audit, user+"|"+id+"|"+comment)
		},
	})
	key := "camera_offline:Camera1"
	raise := func(msg string) event.Event {
		return n.emit(event.KindAlarmRaised, "Camera1", event.AlarmCameraOffline, key, event.SeverityMedium, msg)
	}
	clear := func() {
		n.emit(event.KindAlarmCleared, "Camera1", event.AlarmCameraOffline, key, event.SeverityInfo, "streaming again")
	}

	first := raise("offline")
	as := n.list(Filter{})
	if len(as) != 1 {
		t.Fatalf("after the raise: %+v", as)
	}
	a := as[0]
	id := alarmID("site-1", "camera_offline:Camera1", first.Seq)
	if a.ID != id || a.State != StateRaised || a.Count != 1 || a.Severity != event.SeverityMedium ||
		a.Camera != "Camera1" || a.Origin != "site-1" || a.RaiseEvent != first.ID() || !a.Raised.Equal(first.Time) {
		t.Fatalf("raised alarm: %+v", a)
	}

	// repeats within a minute of the last sighting only count
	n.clock.Advance(40 * time.Second)
	raise("offline again")
	n.clock.Advance(40 * time.Second)
	raise("still offline")
	as = n.list(Filter{})
	if len(as) != 1 || as[0].Count != 3 || as[0].Message != "still offline" || !as[0].LastSeen.Equal(n.clock.Now()) {
		t.Fatalf("after repeats: %+v", as)
	}

	// acknowledged: an event in the log, and the audit hook
	n.clock.Advance(10 * time.Second)
	got, err := n.m.Ack(id, "aigerim", "technician on the way")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateAcknowledged || got.AckUser != "aigerim" || got.AckComment != "technician on the way" ||
		!got.Acked.Equal(n.clock.Now()) {
		t.Fatalf("acknowledged: %+v", got)
	}
	if len(audit) != 1 || audit[0] != "aigerim|"+id+"|technician on the way" {
		t.Fatalf("audit hook: %q", audit)
	}
	acks := eventsOf(t, n.log, KindAcked)
	if len(acks) != 1 || payloadOf(t, acks[0]).AlarmID != id || payloadOf(t, acks[0]).User != "aigerim" {
		t.Fatalf("ack events: %+v", acks)
	}
	if _, err := n.m.Ack(id, "bolat", ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("second ack: %v", err)
	}

	// the condition clears itself
	n.clock.Advance(time.Minute)
	clear()
	n.tick()
	a, _ = n.m.Get(id)
	if a.State != StateCleared || a.ClearedBy != "" || !a.Cleared.Equal(n.clock.Now()) || n.m.Active("site-1", key) {
		t.Fatalf("cleared: %+v", a)
	}

	// a flap within the suppression window re-opens the same alarm at
	// once (it was acknowledged, so it stays so), and its clear closes it
	// again: one alarm, never a cleared one while the condition stands
	n.clock.Advance(time.Minute)
	raise("offline (flap)")
	as = n.list(Filter{})
	if len(as) != 1 || as[0].ID != id || as[0].State != StateAcknowledged || as[0].Suppressed != 1 ||
		!as[0].Cleared.IsZero() || !n.m.Active("site-1", key) {
		t.Fatalf("a flap re-opens the alarm: %+v", as)
	}
	n.clock.Advance(20 * time.Second)
	clear()
	as = n.list(Filter{})
	if len(as) != 1 || as[0].State != StateCleared || as[0].Suppressed != 1 || !as[0].Cleared.Equal(n.clock.Now()) {
		t.Fatalf("after a flap: %+v", as)
	}
	// a re-raise within the window that stays: open at once and all along
	n.clock.Advance(time.Minute)
	raise("offline for real")
	for range 6 {
		if as = n.list(Filter{}); len(as) != 1 || !as[0].State.Open() || as[0].Suppressed != 2 || as[0].Message != "offline for real" {
			t.Fatalf("a re-raise within the window must keep the alarm open: %+v", as)
		}
		n.clock.Advance(time.Minute)
	}
	second := as[0].ID
	if !n.m.Active("site-1", key) {
		t.Fatal("Active: the re-opened alarm is open")
	}

	// raised again long after its last sighting, never cleared: a new alarm
	// supersedes the old one
	n.clock.Advance(10 * time.Minute)
	third := raise("offline, seen again")
	all := n.list(Filter{})
	if len(all) != 2 {
		t.Fatalf("want 2 alarms, got %+v", all)
	}
	old, _ := n.m.Get(second)
	if old.State != StateCleared || old.SupersededBy != alarmID("site-1", key, third.Seq) {
		t.Fatalf("superseded alarm: %+v", old)
	}
	open := n.list(Filter{States: []State{StateRaised, StateAcknowledged}})
	if len(open) != 1 || open[0].RaiseEvent != third.ID() {
		t.Fatalf("open alarms: %+v", open)
	}
}

// Escalation: minor → medium → grave → grave once more (final), each after
// its severity's time without an acknowledgement, as events in the log;
// an acknowledged alarm stays where it is.
func TestEscalation(t *testing.T) {
	n := newNode(t, "site-1", Options{Rules: Rules{Escalate: map[event.Severity]time.Duration{
		event.SeverityMinor: time.Minute, event.SeverityMedium: 2 * time.Minute, event.SeverityGrave: 3 * time.Minute}}})
	ea := n.emit(event.KindAlarmRaised, "", "disk_floor", "disk_floor", event.SeverityMinor, "low disk")
	eb := n.emit(event.KindAlarmRaised, "Camera2", "camera_offline", "camera_offline:Camera2", event.SeverityMinor, "offline")
	idA, idB := alarmID("site-1", "disk_floor", ea.Seq), alarmID("site-1", "camera_offline:Camera2", eb.Seq)
	if _, err := n.m.Ack(idB, "op", ""); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after time.Duration
		sev   event.Severity
		level int
	}{
		{59 * time.Second, event.SeverityMinor, 0},
		{time.Second, event.SeverityMedium, 1},
		{2 * time.Minute, event.SeverityGrave, 2},
		{3 * time.Minute, event.SeverityGrave, 3},
		{time.Hour, event.SeverityGrave, 3},
	}
	for i, s := range steps {
		n.clock.Advance(s.after)
		n.tick()
		a, _ := n.m.Get(idA)
		if a.Severity != s.sev || a.Escalations != s.level || a.Initial != event.SeverityMinor {
			t.Fatalf("step %d: %+v", i, a)
		}
	}
	a, _ := n.m.Get(idA)
	if !a.Final {
		t.Errorf("grave escalation not final: %+v", a)
	}
	evs := eventsOf(t, n.log, KindEscalated)
	if len(evs) != 3 {
		t.Fatalf("%d escalation events, want 3", len(evs))
	}
	wantSev := []event.Severity{event.SeverityMedium, event.SeverityGrave, event.SeverityGrave}
	for i, e := range evs {
		p := payloadOf(t, e)
		if e.Severity != wantSev[i] || p.AlarmID != idA || p.Level != i+1 {
			t.Errorf("escalation %d: %+v %+v", i, e, p)
		}
	}
	if b, _ := n.m.Get(idB); b.Severity != event.SeverityMinor || b.Escalations != 0 {
		t.Errorf("acknowledged alarm escalated: %+v", b)
	}
}

// A clear may come before the acknowledgement; unknown IDs, double clears
// and bad operator input are refused with errors that say so.
func TestClearBeforeAckAndRefusals(t *testing.T) {
	n := newNode(t, "site-1", Options{Rules: Rules{Severity: map[string]event.Severity{"camera_offline": event.SeverityGrave}}})
	e := n.emit(event.KindAlarmRaised, "Camera1", "camera_offline", "camera_offline:Camera1", event.SeverityMedium, "offline")
	id := alarmID("site-1", "camera_offline:Camera1", e.Seq)
	if a, _ := n.m.Get(id); a.Severity != event.SeverityGrave {
		t.Fatalf("severity override: %+v", a)
	}
	n.clock.Advance(time.Minute)
	a, err := n.m.Clear(id, "bolat")
	if err != nil || a.State != StateCleared || a.ClearedBy != "bolat" {
		t.Fatalf("operator clear: %+v %v", a, err)
	}
	clears := eventsOf(t, n.log, event.KindAlarmCleared)
	if len(clears) != 1 || payloadOf(t, clears[0]).AlarmID != id {
		t.Fatalf("clear events: %+v", clears)
	}
	if _, err := n.m.Clear(id, "bolat"); !errors.Is(err, ErrConflict) {
		t.Errorf("second clear: %v", err)
	}
	a, err = n.m.Ack(id, "aigerim", "seen")
	if err != nil || a.State != StateCleared || a.AckUser != "aigerim" || a.Acked.IsZero() {
		t.Fatalf("ack after clear: %+v %v", a, err)
	}
	if _, err := n.m.Ack("site-1:nothing:9", "aigerim", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := n.m.Ack(id, "", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("no user: %v", err)
	}
	long := make([]byte, maxComment+1)
	for i := range long {
		long[i] = 'x'
	}
	if _, err := n.m.Ack(id, "aigerim", string(long)); !errors.Is(err, ErrInvalid) {
		t.Errorf("long comment: %v", err)
	}
	if _, _, err := n.m.Raise(Condition{Key: "k", Type: "t", Severity: "urgent"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad severity: %v", err)
	}
	if _, _, err := n.m.Raise(Condition{Type: "t", Severity: event.SeverityMinor}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no key: %v", err)
	}
	// a raise whose payload is not an alarm is skipped, the rest goes on
	bad := event.Event{Kind: event.KindAlarmRaised, Payload: json.RawMessage(`"not an object"`), Time: n.clock.Now()}
	if _, err := n.log.Append(bad); err != nil {
		t.Fatal(err)
	}
	a2, oc, err := n.m.Raise(Condition{Key: "seal:Gate", Type: "seal_broken", Severity: event.SeverityGrave, Message: "seal"})
	if err != nil || oc != OutcomeNew || a2.Severity != event.SeverityGrave {
		t.Fatalf("raise after a bad event: %+v %s %v", a2, oc, err)
	}
	if _, oc, _ := n.m.Raise(Condition{Key: "seal:Gate", Type: "seal_broken", Severity: event.SeverityGrave}); oc != OutcomeRepeat {
		t.Errorf("second raise: %s", oc)
	}
}

// A parent's table holds its children's alarms (arriving in its log with
// their origin) and follows the children's acknowledgements; its own
// operators' acknowledgements of them are its own events. Restarting
// continues from the cursor without applying anything twice; losing the
// table file rebuilds the same table from the log.
func TestChildrenRestartAndRebuild(t *testing.T) {
	acks := 0
	n := newNode(t, "region", Options{
		Rules: Rules{Escalate: map[event.Severity]time.Duration{event.SeverityGrave: 2 * time.Minute}},
		OnAck: func(string, string, string) { acks++ },
	})
	t0 := n.clock.Now()
	child := []event.Event{
		childEvent("site-1", 1, event.KindAlarmRaised, "Camera1", event.SeverityMedium, t0,
			Payload{Key: "camera_offline:Camera1", Type: "camera_offline", Message: "offline", Snapshot: "Camera1/x.jpg"}),
		childEvent("site-1", 2, event.KindAlarmRaised, "Camera1", event.SeverityGrave, t0.Add(time.Second),
			Payload{Key: "tamper_covered:Camera1", Type: "tamper_covered", Message: "covered"}),
		childEvent("site-1", 3, KindAcked, "Camera1", event.SeverityMedium, t0.Add(2*time.Second),
			Payload{Key: "camera_offline:Camera1", Type: "camera_offline", AlarmID: alarmID("site-1", "camera_offline:Camera1", 1),
				User: "site-operator", Comment: "known"}),
		childEvent("site-2", 1, event.KindAlarmRaised, "", event.SeverityMinor, t0,
			Payload{Key: "disk_floor", Type: "disk_floor", Message: "disk"}),
	}
	if _, err := n.log.Ingest(child, "site-1"); err != nil {
		t.Fatal(err)
	}
	n.emit(event.KindAlarmRaised, "", "link_down", "link_down:site-3", event.SeverityMedium, "site-3 silent")
	n.tick()
	a, _ := n.m.Get(alarmID("site-1", "camera_offline:Camera1", 1))
	if a.State != StateAcknowledged || a.AckUser != "site-operator" || a.Evidence.Snapshot != "Camera1/x.jpg" {
		t.Fatalf("child's acknowledged alarm: %+v", a)
	}
	if acks != 0 {
		t.Fatalf("a child's acknowledgement was audited here")
	}
	if got := n.m.List(Filter{Origin: "site-1"}); len(got) != 2 {
		t.Fatalf("origin filter: %+v", got)
	}
	if got := n.m.List(Filter{Severities: []event.Severity{event.SeverityGrave}, Camera: "Camera1"}); len(got) != 1 ||
		got[0].Type != "tamper_covered" {
		t.Fatalf("severity+camera filter: %+v", got)
	}
	// the region's operator acknowledges the child's grave alarm after it
	// escalated, and clears the child's disk alarm
	n.clock.Advance(3 * time.Minute)
	n.tick()
	covered := alarmID("site-1", "tamper_covered:Camera1", 2)
	if a, _ := n.m.Get(covered); a.Escalations != 1 || !a.Final {
		t.Fatalf("child's grave alarm not escalated: %+v", a)
	}
	if _, err := n.m.Ack(covered, "region-operator", "calling the site"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.m.Clear(alarmID("site-2", "disk_floor", 1), "region-operator"); err != nil {
		t.Fatal(err)
	}
	if acks != 1 {
		t.Fatalf("audit hook called %d times", acks)
	}
	// sorted grave first, then newest first
	before := n.list(Filter{})
	if len(before) != 4 || before[0].Severity != event.SeverityGrave {
		t.Fatalf("list: %+v", before)
	}
	for i := 1; i < len(before); i++ {
		a, b := before[i-1], before[i]
		if severityRank(a.Severity) > severityRank(b.Severity) ||
			(a.Severity == b.Severity && a.Raised.Before(b.Raised)) {
			t.Fatalf("order: %s before %s", a.ID, b.ID)
		}
	}

	// restart: the same table, nothing applied twice
	n.restart()
	if after := n.list(Filter{}); !reflect.DeepEqual(before, after) {
		t.Fatalf("after restart:\n%+v\nbefore:\n%+v", after, before)
	}
	// the table file is lost: rebuilt from the log alone
	if err := n.m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(n.dir, "alarms.db")); err != nil {
		t.Fatal(err)
	}
	n.open()
	if after := n.list(Filter{}); !reflect.DeepEqual(before, after) {
		t.Fatalf("rebuilt:\n%+v\nbefore:\n%+v", after, before)
	}
	if evs := eventsOf(t, n.log, KindEscalated); len(evs) != 1 {
		t.Fatalf("rebuild escalated again: %d escalation events", len(evs))
	}
}

// Cleared alarms leave the table after Keep; their events stay in the log.
func TestPrune(t *testing.T) {
	n := newNode(t, "site-1", Options{Keep: time.Hour})
	n.emit(event.KindAlarmRaised, "", "clock_skew", "clock_skew", event.SeverityMedium, "skew")
	n.emit(event.KindAlarmCleared, "", "clock_skew", "clock_skew", event.SeverityInfo, "ok")
	n.emit(event.KindAlarmRaised, "", "disk_floor", "disk_floor", event.SeverityMedium, "disk")
	if got := n.list(Filter{}); len(got) != 2 {
		t.Fatalf("%+v", got)
	}
	n.clock.Advance(2 * time.Hour)
	got := n.list(Filter{})
	if len(got) != 1 || got[0].Key != "disk_floor" {
		t.Fatalf("after pruning: %+v", got)
	}
	n.restart()
	if got := n.list(Filter{}); len(got) != 1 {
		t.Fatalf("pruned alarm came back: %+v", got)
	}
}

// A grave alarm that overtook its origin's backlog (the urgent path) shows
// at once, marked provisional, and can be acknowledged then; when the
// ordered copy arrives it joins the table once, with the acknowledgement.
func TestEarlyAlarmJoinsTheTable(t *testing.T) {
	acks := 0
	n := newNode(t, "centre", Options{OnAck: func(string, string, string) { acks++ }})
	t0 := n.clock.Now()
	backlog := []event.Event{
		childEvent("site-1", 1, "segment.closed", "Camera1", "", t0, Payload{Key: "-"}),
		childEvent("site-1", 2, event.KindAlarmRaised, "Camera1", event.SeverityMedium, t0,
			Payload{Key: "camera_offline:Camera1", Type: "camera_offline", Message: "offline"}),
		childEvent("site-1", 3, event.KindAlarmCleared, "Camera1", event.SeverityInfo, t0.Add(time.Minute),
			Payload{Key: "camera_offline:Camera1", Type: "camera_offline", Message: "back"}),
		childEvent("site-1", 4, event.KindAlarmRaised, "Camera1", event.SeverityGrave, t0.Add(10*time.Minute),
			Payload{Key: "tamper_covered:Camera1", Type: "tamper_covered", Message: "covered"}),
	}
	if ok, err := n.log.StoreUrgent(backlog[3], "site-1"); err != nil || !ok {
		t.Fatalf("store urgent: %v %v", ok, err)
	}
	id := alarmID("site-1", "tamper_covered:Camera1", 4)
	as := n.list(Filter{})
	if len(as) != 1 || as[0].ID != id || !as[0].Provisional || as[0].State != StateRaised || as[0].Severity != event.SeverityGrave {
		t.Fatalf("early alarm: %+v", as)
	}
	a, err := n.m.Ack(id, "centre-operator", "calling Khorgos")
	if err != nil || a.State != StateAcknowledged || !a.Provisional || acks != 1 {
		t.Fatalf("ack of the early alarm: %+v %v (audited %d)", a, err, acks)
	}
	if _, err := n.log.Ingest(backlog, "site-1"); err != nil {
		t.Fatal(err)
	}
	as = n.list(Filter{Severities: []event.Severity{event.SeverityGrave}})
	if len(as) != 1 || as[0].Provisional || as[0].State != StateAcknowledged || as[0].AckUser != "centre-operator" ||
		as[0].Count != 1 {
		t.Fatalf("after the backlog: %+v", as)
	}
	if all := n.list(Filter{}); len(all) != 2 {
		t.Fatalf("table: %+v", all)
	}
	n.restart()
	if a, _ := n.m.Get(id); a.State != StateAcknowledged || a.Provisional {
		t.Fatalf("after restart: %+v", a)
	}
	if acks != 1 {
		t.Fatalf("audited %d times", acks)
	}
}

// A grave archive_write_failed raised for a disk-full spell,
// cleared when recording worked again, and raised again for a read-only
// spell inside the suppression window showed "cleared" for four minutes
// while recording was failing. A raise within the window re-opens the
// alarm at once and keeps it open until the next clear; the webhook hears
// each step under its own idempotency key, and a restart or a table
// rebuilt from the log holds the same.
func TestRecurrenceInsideSuppressionWindowReopens(t *testing.T) {
	n := newNode(t, "site-1", Options{
		Rules:   Rules{Dedupe: time.Minute, Suppress: 5 * time.Minute, Escalate: map[event.Severity]time.Duration{}},
		Webhook: Webhook{URL: "http://127.0.0.1:1/never-called"}, // changes queue; Run is not started
	})
	key := event.AlarmArchiveWrite + ":Camera1"
	raise := func(msg string) event.Event {
		return n.emit(event.KindAlarmRaised, "Camera1", event.AlarmArchiveWrite, key, event.SeverityGrave, msg)
	}
	clear := func() {
		n.emit(event.KindAlarmCleared, "Camera1", event.AlarmArchiveWrite, key, event.SeverityInfo, "recording works again")
	}
	first := raise("recording of Camera1 failed: no space left on device")
	id := alarmID("site-1", key, first.Seq)
	n.clock.Advance(15 * time.Second)
	clear()
	if a, _ := n.m.Get(id); a.State != StateCleared {
		t.Fatalf("after the disk-full spell: %+v", a)
	}
	n.clock.Advance(30 * time.Second)
	_, oc, err := n.m.Raise(Condition{Key: key, Type: event.AlarmArchiveWrite, Camera: "Camera1",
		Severity: event.SeverityGrave, Message: "recording of Camera1 failed: read-only file system"})
	if err != nil || oc != OutcomeReopened {
		t.Fatalf("raise inside the window: %s %v", oc, err)
	}
	// 6.5 minutes of a read-only disk: raised all along, across a restart
	for i := range 13 {
		a, ok := n.m.Get(id)
		open := n.list(Filter{States: []State{StateRaised, StateAcknowledged}, Severities: []event.Severity{event.SeverityGrave}})
		if !ok || a.State != StateRaised || !a.Cleared.IsZero() || a.Suppressed != 1 || !n.m.Active("site-1", key) ||
			len(open) != 1 || open[0].ID != id || open[0].Message != "recording of Camera1 failed: read-only file system" {
			t.Fatalf("%v into the read-only spell the alarm is not raised: %+v (open: %+v)", time.Duration(i)*30*time.Second, a, open)
		}
		if i == 6 {
			n.restart()
		}
		n.clock.Advance(30 * time.Second)
	}
	clear()
	if a, _ := n.m.Get(id); a.State != StateCleared || !a.Cleared.Equal(n.clock.Now()) {
		t.Fatalf("after the read-only spell: %+v", a)
	}
	// long after: a new alarm, as before
	n.clock.Advance(10 * time.Minute)
	third := raise("failed again")
	if as := n.list(Filter{States: []State{StateRaised}}); len(as) != 1 || as[0].ID != alarmID("site-1", key, third.Seq) {
		t.Fatalf("a raise after the window: %+v", as)
	}

	var keys []string
	if err := n.m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
			var c Change
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			if c.Alarm.ID == id {
				keys = append(keys, c.ID+" "+string(c.Alarm.State))
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{id + "/raised raised", id + "/cleared cleared", id + "/raised/1 raised", id + "/cleared/1 cleared"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("webhook changes:\n got %q\nwant %q", keys, want)
	}

	// the table rebuilt from the log is the same
	before, _ := n.m.Get(id)
	if err := n.m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(n.dir, "alarms.db")); err != nil {
		t.Fatal(err)
	}
	n.open()
	if after, _ := n.m.Get(id); !reflect.DeepEqual(before, after) {
		t.Errorf("rebuilt:\n%+v\nwant\n%+v", after, before)
	}
}

// A recurrence that overtakes its origin's backlog at a parent shows the
// cleared alarm re-opened at once (provisional) until the ordered copy
// re-opens it in the table.
func TestEarlyRecurrenceShowsReopened(t *testing.T) {
	n := newNode(t, "centre", Options{Rules: Rules{Dedupe: time.Minute, Suppress: 5 * time.Minute}})
	t0 := n.clock.Now()
	p := Payload{Key: "archive_write_failed:Camera1", Type: event.AlarmArchiveWrite, Message: "disk full"}
	ordered := []event.Event{
		childEvent("site-1", 1, event.KindAlarmRaised, "Camera1", event.SeverityGrave, t0, p),
		childEvent("site-1", 2, event.KindAlarmCleared, "Camera1", event.SeverityInfo, t0.Add(15*time.Second), p),
	}
	if _, err := n.log.Ingest(ordered, "site-1"); err != nil {
		t.Fatal(err)
	}
	id := alarmID("site-1", p.Key, 1)
	if a, _ := n.m.Get(id); a.State != StateCleared {
		t.Fatalf("cleared first: %+v", a)
	}
	p.Message = "read-only file system"
	again := childEvent("site-1", 4, event.KindAlarmRaised, "Camera1", event.SeverityGrave, t0.Add(45*time.Second), p)
	if ok, err := n.log.StoreUrgent(again, "site-1"); err != nil || !ok {
		t.Fatalf("store urgent: %v %v", ok, err)
	}
	as := n.list(Filter{})
	if len(as) != 1 || as[0].ID != id || as[0].State != StateRaised || !as[0].Provisional || as[0].Message != "read-only file system" {
		t.Fatalf("early recurrence: %+v", as)
	}
	if a, _ := n.m.Get(id); a.State != StateRaised || !a.Provisional {
		t.Fatalf("Get of the early recurrence: %+v", a)
	}
	backlog := []event.Event{childEvent("site-1", 3, "segment.closed", "Camera1", "", t0.Add(20*time.Second), Payload{Key: "-"}), again}
	if _, err := n.log.Ingest(backlog, "site-1"); err != nil {
		t.Fatal(err)
	}
	as = n.list(Filter{})
	if len(as) != 1 || as[0].ID != id || as[0].State != StateRaised || as[0].Provisional || as[0].Suppressed != 1 {
		t.Fatalf("after the backlog: %+v", as)
	}
}
