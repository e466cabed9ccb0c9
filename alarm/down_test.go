package alarm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// drainDown tries every queued act once, as a pass of sendDown does.
func (n *node) drainDown() {
	n.t.Helper()
	queued, err := n.m.queuedActs()
	if err != nil {
		n.t.Fatal(err)
	}
	for _, d := range queued {
		n.m.deliverAct(context.Background(), d)
	}
}

// ship copies every event of from's log to to's, as its parent.
func ship(t *testing.T, from, to *node) {
	t.Helper()
	evs, err := from.log.Range(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := to.log.Ingest(evs, from.log.Origin()); err != nil {
		t.Fatal(err)
	}
	to.tick()
}

// TestActsOnAlarmsBelowReachTheOrigin: a region operator's acknowledgement
// and clear of a site's alarm are queued durably (across a restart and a
// failed delivery), applied at the site as name@region once each — a
// redelivery after the alarm re-opened changes nothing — and refused when
// the site has no such alarm. The site's own acts, and acts that came up
// from below, are not sent anywhere.
func TestActsOnAlarmsBelowReachTheOrigin(t *testing.T) {
	site := newNode(t, "site-1", Options{Rules: Rules{Suppress: 5 * time.Minute}, Down: func(_ context.Context, act RemoteAct) error {
		t.Errorf("the site sent an act on its own alarm down: %+v", act)
		return nil
	}})
	linkUp := false
	var sent []RemoteAct
	region := newNode(t, "region", Options{Down: func(_ context.Context, act RemoteAct) error {
		if !linkUp {
			return errors.New("no route to site-1")
		}
		sent = append(sent, act)
		_, err := site.m.Apply(act)
		return err
	}})
	a, _, err := site.m.Raise(Condition{Key: "camera_offline:Camera1", Type: "camera_offline", Camera: "Camera1",
		Severity: event.SeverityMedium, Message: "offline"})
	if err != nil {
		t.Fatal(err)
	}
	ship(t, site, region)

	if _, err := region.m.AckBy(a.ID, Operator{User: "alice", Role: "operator"}, "driving there"); err != nil {
		t.Fatal(err)
	}
	if n := region.m.ActsQueued(); n != 1 {
		t.Fatalf("%d acts queued after an acknowledgement of a site's alarm, want 1", n)
	}
	region.drainDown() // the link is down: the act stays
	region.restart()
	if n := region.m.ActsQueued(); n != 1 {
		t.Fatalf("%d acts queued after a failed delivery and a restart, want 1", n)
	}
	linkUp = true
	region.drainDown()
	if n := region.m.ActsQueued(); n != 0 || len(sent) != 1 {
		t.Fatalf("after delivery: %d queued, %d sent", n, len(sent))
	}
	got, _ := site.m.Get(a.ID)
	if got.State != StateAcknowledged || got.AckUser != "alice@region" || got.AckComment != "driving there" {
		t.Fatalf("site's alarm after the region's acknowledgement: %+v", got)
	}
	acks := eventsOf(t, site.log, KindAcked)
	if len(acks) != 1 || payloadOf(t, acks[0]).Via != sent[0].ID || payloadOf(t, acks[0]).Role != "operator" {
		t.Fatalf("site's acknowledgement events: %+v", acks)
	}

	if _, err := region.m.ClearBy(a.ID, Operator{User: "alice", Role: "operator"}); err != nil {
		t.Fatal(err)
	}
	region.drainDown()
	got, _ = site.m.Get(a.ID)
	if got.State.Open() || got.ClearedBy != "alice@region" {
		t.Fatalf("site's alarm after the region's clear: %+v", got)
	}
	// the condition comes back at once: the alarm re-opens; the same clear
	// delivered again (its answer was lost) does not close it
	if _, _, err := site.m.Raise(Condition{Key: "camera_offline:Camera1", Type: "camera_offline", Camera: "Camera1",
		Severity: event.SeverityMedium, Message: "offline again"}); err != nil {
		t.Fatal(err)
	}
	if changed, err := site.m.Apply(sent[1]); changed || err != nil {
		t.Fatalf("redelivered clear: changed %v, err %v", changed, err)
	}
	if got, _ := site.m.Get(a.ID); !got.State.Open() {
		t.Fatalf("a redelivered clear closed the re-opened alarm: %+v", got)
	}
	if changed, err := site.m.Apply(sent[0]); changed || err != nil {
		t.Fatalf("redelivered acknowledgement: changed %v, err %v", changed, err)
	}

	bad := sent[0]
	bad.ID, bad.AlarmID = "region/999", "site-1:nothing:1"
	if _, err := site.m.Apply(bad); !errors.Is(err, ErrRefused) {
		t.Fatalf("act on an alarm the site does not have: %v, want ErrRefused", err)
	}
	bad.Origin = "site-2"
	if _, err := site.m.Apply(bad); !errors.Is(err, ErrRefused) {
		t.Fatalf("act for another node: %v, want ErrRefused", err)
	}

	// the site's own operator acts on its own alarm; the region gets the
	// act from below: nothing is queued anywhere
	if _, err := site.m.Ack(a.ID, "bob", ""); err == nil {
		t.Fatal("second acknowledgement of an acknowledged alarm accepted")
	}
	own, _, _ := site.m.Raise(Condition{Key: "disk_floor", Type: "disk_floor", Severity: event.SeverityMinor, Message: "disk"})
	if _, err := site.m.Ack(own.ID, "bob", ""); err != nil {
		t.Fatal(err)
	}
	ship(t, site, region)
	if n, m := site.m.ActsQueued(), region.m.ActsQueued(); n != 0 || m != 0 {
		t.Fatalf("acts queued: site %d, region %d; want none", n, m)
	}
	if got, _ := region.m.Get(own.ID); got.AckUser != "bob" {
		t.Fatalf("the site's own acknowledgement at the region: %+v", got)
	}
}

// TestClearOfAPersistingConditionRaisesAgain: an operator's clear — here
// or from an ancestor — of an alarm whose condition still holds raises it
// again at once (within the suppression window the same alarm re-opens);
// once the condition is over, a clear stands.
func TestClearOfAPersistingConditionRaisesAgain(t *testing.T) {
	offline := true
	site := newNode(t, "site-1", Options{Persists: func(a Alarm) bool { return a.Type == "camera_offline" && offline }})
	a, _, err := site.m.Raise(Condition{Key: "camera_offline:Camera1", Type: "camera_offline", Camera: "Camera1",
		Severity: event.SeverityMedium, Message: "camera Camera1 offline"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := site.m.Clear(a.ID, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !got.State.Open() || got.ID != a.ID || got.Message != "still: camera Camera1 offline" {
		t.Fatalf("cleared while the camera is still offline: %+v", got)
	}
	if changed, err := site.m.Apply(RemoteAct{ID: "region/7", Origin: "site-1", AlarmID: a.ID, Act: ActClear,
		User: "alice@region", Role: "operator"}); !changed || err != nil {
		t.Fatalf("clear from the region: changed %v, err %v", changed, err)
	}
	if got, _ := site.m.Get(a.ID); !got.State.Open() || got.Message != "still: camera Camera1 offline" {
		t.Fatalf("cleared from the region while the camera is still offline: %+v", got)
	}
	offline = false
	if got, err := site.m.Clear(a.ID, "bob"); err != nil || got.State.Open() {
		t.Fatalf("clear once the camera is back: %+v, %v", got, err)
	}
}

// TestActForANodeGoneIsGivenUp: an act whose origin stays unreachable (a
// site taken out of the tree) is retried for a week, then dropped.
func TestActForANodeGoneIsGivenUp(t *testing.T) {
	site := newNode(t, "site-1", Options{})
	tries := 0
	region := newNode(t, "region", Options{Down: func(context.Context, RemoteAct) error {
		tries++
		return errors.New("no route to site-1")
	}})
	a, _, err := site.m.Raise(Condition{Key: "disk_floor", Type: "disk_floor", Severity: event.SeverityMinor, Message: "disk"})
	if err != nil {
		t.Fatal(err)
	}
	ship(t, site, region)
	if _, err := region.m.Ack(a.ID, "alice", ""); err != nil {
		t.Fatal(err)
	}
	region.clock.Advance(6 * 24 * time.Hour)
	region.drainDown()
	if n := region.m.ActsQueued(); n != 1 || tries != 1 {
		t.Fatalf("after six days: %d queued, %d tries; want it still queued", n, tries)
	}
	region.clock.Advance(2 * 24 * time.Hour)
	region.drainDown()
	if n := region.m.ActsQueued(); n != 0 {
		t.Fatalf("after eight days: %d queued; want it given up", n)
	}
	if got, _ := region.m.Get(a.ID); got.State != StateAcknowledged {
		t.Fatalf("the act stands at the region: %+v", got)
	}
}
