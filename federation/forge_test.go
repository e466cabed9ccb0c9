package federation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
)

// forger speaks the wire protocol by hand with a valid certificate, to
// send what a well-behaved child never would.
type forger struct {
	t    *testing.T
	conn *quic.Conn
}

func dialForger(t *testing.T, ident *pki.Identity, addr string) *forger {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, linkTLS(ident, false, nil), &quic.Config{MaxIdleTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseWithError(0, "") })
	ctrl, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(ctrl, MsgHello, Hello{NodeID: ident.NodeID, Time: time.Now().UnixNano()}); err != nil {
		t.Fatal(err)
	}
	var w Welcome
	if err := Expect(ctrl, MsgWelcome, &w); err != nil {
		t.Fatal(err)
	}
	return &forger{t: t, conn: conn}
}

// open opens a stream of kind at the parent, with a read deadline for its
// answer.
func (f *forger) open(kind string) *quic.Stream {
	f.t.Helper()
	str, err := f.conn.OpenStreamSync(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	_ = WriteFrame(str, MsgOpen, Open{Kind: kind})
	_ = str.SetReadDeadline(time.Now().Add(5 * time.Second))
	return str
}

// events opens an events stream, offers marks and returns the holdings.
func (f *forger) events(offer ...event.Mark) (*quic.Stream, Holdings) {
	f.t.Helper()
	str, err := f.conn.OpenStreamSync(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	_ = WriteFrame(str, MsgOpen, Open{Kind: StreamEvents})
	if err := WriteFrame(str, MsgOffer, Offer{Marks: offer}); err != nil {
		f.t.Fatal(err)
	}
	var h Holdings
	if err := Expect(str, MsgHoldings, &h); err != nil {
		f.t.Fatal(err)
	}
	return str, h
}

func (f *forger) send(str *quic.Stream, evs ...event.Event) Ack {
	f.t.Helper()
	for i := range evs {
		evs[i].Pos = uint64(i + 1)
		if evs[i].Path == nil {
			evs[i].Path = []string{evs[i].Origin}
		}
	}
	if err := WriteFrame(str, MsgEvents, Events{Events: evs}); err != nil {
		f.t.Fatal(err)
	}
	_ = str.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ack Ack
	if err := Expect(str, MsgAck, &ack); err != nil {
		f.t.Fatal(err)
	}
	return ack
}

func alarmsAbout(t *testing.T, l *event.Log, typ string) []event.Alarm {
	t.Helper()
	all, _ := l.Range(0, 0)
	var out []event.Alarm
	for _, e := range all {
		var a event.Alarm
		if e.Origin == l.Origin() && e.Kind == event.KindAlarmRaised && json.Unmarshal(e.Payload, &a) == nil && a.Type == typ {
			out = append(out, a)
		}
	}
	return out
}

// Issue 12, who may speak for whom: a child holding one valid certificate
// sends events for another site, for a site that does not exist and for
// the parent itself; none is stored, none moves a route, and the parent
// raises a grave alarm naming the child.
func TestForgingChildIsRefused(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	demoID, _ := ca.identity("demo-site", time.Time{}, time.Hour)
	evilID, _ := ca.identity("evil-site", time.Time{}, time.Hour)
	centreLog, demoLog := openLog(t, "centre"), openLog(t, "demo-site")
	centre := startServer(t, centreID, centreLog, nil)
	if _, err := demoLog.Append(event.New("test.tick", "", "", nil)); err != nil {
		t.Fatal(err)
	}
	startClient(t, demoID, demoLog, centre.Addr())
	testkit.WaitFor(t, 10*time.Second, "demo-site's own event", func() bool { return countOrigin(t, centreLog, "demo-site") == 1 })

	evil := dialForger(t, evilID, centre.Addr())
	str, h := evil.events(event.Mark{Origin: "evil-site", Seq: 0}, event.Mark{Origin: "demo-site", Seq: 5})
	if len(h.Refused) != 1 || h.Refused[0].Origin != "demo-site" {
		t.Fatalf("holdings for a forged offer: %+v", h)
	}
	before := centreLog.Last()
	forged := []event.Event{
		{Origin: "demo-site", Inc: demoLog.Incarnation(), Seq: demoLog.Incarnation() + 2, Kind: "plate.read", Camera: "Camera1", Payload: json.RawMessage(`{"plate":"FORGED"}`)},
		{Origin: "demo-site", Inc: demoLog.Incarnation(), Seq: demoLog.Incarnation() + 3, Kind: "audit", Payload: json.RawMessage(`{"seq":1}`)},
		{Origin: "demo-site", Inc: demoLog.Incarnation(), Seq: demoLog.Incarnation() + 4, Kind: event.KindAlarmCleared, Severity: event.SeverityGrave},
		{Origin: "ghost-site", Seq: 1, Kind: event.KindAlarmRaised, Severity: event.SeverityGrave},
		{Origin: "centre", Seq: 1, Kind: event.KindSegmentClosed},
		{Origin: "evil-site", Seq: 1, Kind: "test.tick"}, // its own: fine
	}
	ack := evil.send(str, forged...)
	if ack.Stored != 1 || len(ack.Refused) != 3 {
		t.Fatalf("ack of the forged batch: %+v", ack)
	}
	// the urgent path refuses the same way
	astr, err := evil.conn.OpenStreamSync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = WriteFrame(astr, MsgOpen, Open{Kind: StreamAlarms})
	if a := evil.send(astr, event.Event{Origin: "ghost-site", Seq: 7, Kind: event.KindAlarmRaised, Severity: event.SeverityGrave}); a.Stored != 0 || len(a.Refused) != 1 {
		t.Fatalf("forged urgent alarm: %+v", a)
	}
	if u, _ := centreLog.UrgentEvents(); len(u) != 0 {
		t.Fatalf("forged urgent alarm kept: %+v", u)
	}
	stored, _ := centreLog.Range(before, 0)
	for _, e := range stored {
		if e.Origin != "evil-site" && e.Origin != "centre" {
			t.Fatalf("stored a forged event %s (%s)", e.ID(), e.Kind)
		}
	}
	if n := countOrigin(t, centreLog, "demo-site"); n != 1 {
		t.Fatalf("centre holds %d demo-site events, want its 1 real one", n)
	}
	if got := centre.Descendants()["demo-site"]; got != "demo-site" {
		t.Fatalf("route to demo-site now leads to %q", got)
	}
	if _, ok := centre.Descendants()["ghost-site"]; ok {
		t.Fatal("a route to a site that does not exist was learnt")
	}
	alarms := alarmsAbout(t, centreLog, AlarmUnauthorisedOrigin)
	if len(alarms) < 3 {
		t.Fatalf("unauthorised_origin alarms: %+v", alarms)
	}
	for _, a := range alarms {
		if !strings.Contains(a.Message, "evil-site") || a.Key != AlarmUnauthorisedOrigin+":evil-site" {
			t.Fatalf("alarm does not name the child: %+v", a)
		}
	}
	// demo-site itself keeps delivering
	_, _ = demoLog.Append(event.New("test.tick", "", "", nil))
	testkit.WaitFor(t, 10*time.Second, "demo-site's next event", func() bool { return countOrigin(t, centreLog, "demo-site") == 2 })
}

// A forged far-future sequence number is a gap, not a new high-water
// mark: it silences nobody, from the origin itself or from an ancestor
// allowed to speak for it.
func TestForgedSequenceSilencesNobody(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	regionID, _ := ca.identity("region", time.Time{}, time.Hour)
	centreLog := openLog(t, "centre")
	centre := startServer(t, centreID, centreLog, nil)
	f := dialForger(t, regionID, centre.Addr())
	str, h := f.events(event.Mark{Origin: "site", Seq: 3})
	if len(h.Marks) != 1 || h.Marks[0].Seq != 0 {
		t.Fatalf("holdings: %+v", h)
	}
	ack := f.send(str, event.Event{Origin: "site", Seq: 1_000_000_000, Kind: "test.tick"})
	if ack.Stored != 0 || len(ack.Gaps) != 1 || ack.Gaps[0].Seq != 0 {
		t.Fatalf("forged seq: %+v", ack)
	}
	ack = f.send(str, event.Event{Origin: "site", Seq: 1, Kind: "test.tick"}, event.Event{Origin: "site", Seq: 2, Kind: "test.tick"})
	if ack.Stored != 2 || len(ack.Marks) != 1 || ack.Marks[0].Seq != 2 {
		t.Fatalf("real events after the forged one: %+v", ack)
	}
}

// A child holds one events and one alarms stream per link: a second is
// refused, so no child can make the parent buffer many large frames.
func TestOneEventsStreamPerLink(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	siteID, _ := ca.identity("site", time.Time{}, time.Hour)
	centre := startServer(t, centreID, openLog(t, "centre"), nil)
	f := dialForger(t, siteID, centre.Addr())
	first, _ := f.events()
	str := f.open(StreamEvents)
	var h Holdings
	if err := Expect(str, MsgHoldings, &h); err == nil || !strings.Contains(err.Error(), "already open") {
		t.Fatalf("second events stream: %v", err)
	}
	// the first one still works
	if ack := f.send(first, event.Event{Origin: "site", Seq: 1, Kind: "test.tick"}); ack.Stored != 1 {
		t.Fatalf("first stream after the refusal: %+v", ack)
	}
}

// A child that holds events of an origin its parent will not take from
// it (a site moved elsewhere in the catalogue, say) says so in its link
// status and still delivers everything else.
func TestRefusedOriginIsHeldBackInStatus(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	siteID, _ := ca.identity("site", time.Time{}, time.Hour)
	centreLog, siteLog := openLog(t, "centre"), openLog(t, "site")
	centre := startServer(t, centreID, centreLog, nil)
	if _, err := siteLog.Ingest([]event.Event{{Origin: "stray", Seq: 1, Kind: "test.tick"}}, "stray"); err != nil {
		t.Fatal(err)
	}
	_, _ = siteLog.Append(event.New("test.tick", "", "", nil))
	c, _ := startClient(t, siteID, siteLog, centre.Addr())
	testkit.WaitFor(t, 10*time.Second, "the site's own event", func() bool { return countOrigin(t, centreLog, "site") == 1 })
	st := c.Status()
	if len(st.HeldBack) != 1 || st.HeldBack[0].Origin != "stray" || !strings.Contains(st.HeldBack[0].Reason, "refused by the parent") {
		t.Fatalf("status: %+v", st)
	}
	if countOrigin(t, centreLog, "stray") != 0 {
		t.Fatal("a refused origin was stored")
	}
}

// A parent that has just restarted may not have replayed its catalogue:
// its local view says the region may not speak for the site. It refuses
// nothing until a confirmed catalogue says so; while it cannot confirm,
// the stream ends without a refusal and the region offers again, and once
// the catalogue is current every site event arrives. An origin the
// confirmed catalogue still does not place under the region is refused.
func TestRefusalWaitsForACurrentCatalogue(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	regionID, _ := ca.identity("region", time.Time{}, time.Hour)
	centreLog, regionLog := openLog(t, "centre"), openLog(t, "region")
	var mu sync.Mutex
	loaded, confirms := false, 0
	s, err := Listen(ServerOptions{Listen: "127.0.0.1:0", Identity: centreID, Log: centreLog, LinkDownAfter: time.Second,
		MaySpeakFor: func(child, origin string) bool {
			mu.Lock()
			defer mu.Unlock()
			return loaded && child == "region" && origin == "site"
		},
		Confirm: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if confirms++; confirms < 3 {
				return errors.New("no leader yet")
			}
			loaded = true
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, s)

	site := openLog(t, "site")
	var evs []event.Event
	for range 5 {
		e, _ := site.Append(event.New("test.tick", "", "", nil))
		evs = append(evs, e)
	}
	if _, err := regionLog.Ingest(evs, "site"); err != nil {
		t.Fatal(err)
	}
	if _, err := regionLog.Ingest([]event.Event{{Origin: "stray", Seq: 1, Kind: "test.tick"}}, "stray"); err != nil {
		t.Fatal(err)
	}
	c, _ := startClient(t, regionID, regionLog, s.Addr())
	testkit.WaitFor(t, 20*time.Second, "the site's events at the centre", func() bool { return countOrigin(t, centreLog, "site") == 5 })
	if n := countOrigin(t, centreLog, "stray"); n != 0 {
		t.Fatalf("the centre stored %d events of an origin outside the region", n)
	}
	st := c.Status()
	if len(st.HeldBack) != 1 || st.HeldBack[0].Origin != "stray" {
		t.Fatalf("held back %+v, want only the stray origin", st.HeldBack)
	}
	mu.Lock()
	defer mu.Unlock()
	if confirms < 3 {
		t.Fatalf("%d confirmations", confirms)
	}
}

// Acts on alarms travel down only: a child that opens an act stream at its
// parent, to acknowledge or clear an alarm of the parent's or of another
// site, is refused and nothing is applied.
func TestChildCannotSendAnActUp(t *testing.T) {
	ca := newPKI(t)
	centreID, _ := ca.identity("centre", time.Time{}, time.Hour)
	siteID, _ := ca.identity("site", time.Time{}, time.Hour)
	centre := startServer(t, centreID, openLog(t, "centre"), nil)
	f := dialForger(t, siteID, centre.Addr())
	str := f.open(StreamAct)
	_ = WriteFrame(str, MsgAlarmAct, AlarmAct{ID: "site/1", Origin: "centre", AlarmID: "centre:link_down:site:1",
		Act: ActClear, User: "mallory@site", Role: "admin"})
	var done struct{}
	if err := Expect(str, MsgActDone, &done); err == nil || !strings.Contains(err.Error(), "unknown stream kind") {
		t.Fatalf("an act sent up by a child: %v, want refused as an unknown stream kind", err)
	}
}
