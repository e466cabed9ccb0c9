package alarm

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
)

// The list query parser never panics, and what it accepts is in range.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "state=open&severity=grave,medium", "since=2025-08-18T10:00:00Z&limit=10",
		"limit=0", "camera=a&camera=b", "state=", "severity=,", "x=1", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if flt.Limit < 0 || flt.Limit > 5000 {
			t.Fatalf("limit %d accepted", flt.Limit)
		}
		for _, s := range flt.Severities {
			if _, err := ParseSeverity(string(s)); err != nil {
				t.Fatalf("severity %q accepted", s)
			}
		}
	})
}

// The ack/clear body parser never panics and bounds what it accepts.
func FuzzOperatorBody(f *testing.F) {
	f.Add("application/json", `{"comment":"on my way"}`)
	f.Add("", "")
	f.Add("application/json; charset=utf-8", `{"comment":5}`)
	f.Add("text/plain", "hello")
	f.Fuzz(func(t *testing.T, ct, body string) {
		req, err := parseOperatorBody(ct, strings.NewReader(body))
		if err == nil && len(req.Comment) > maxBody {
			t.Fatalf("comment of %d bytes accepted", len(req.Comment))
		}
	})
}

// Whatever payload an alarm event carries — from this node or from a
// child — applying it never panics and never breaks the table: a raise and
// ack that follow still work.
func FuzzApplyPayload(f *testing.F) {
	f.Add(event.KindAlarmRaised, `{"key":"k","type":"t","message":"m"}`, "grave")
	f.Add(event.KindAlarmCleared, `{"key":"k","alarm_id":"x:k:1"}`, "")
	f.Add(KindAcked, `{"key":"k","alarm_id":"c:k:1","user":"u"}`, "medium")
	f.Add(KindEscalated, `{"key":"k","alarm_id":"c:k:1","level":-3,"from":"grave"}`, "bogus")
	f.Add(event.KindAlarmRaised, `[1,2]`, "minor")
	n := newNode(f, "fuzz", Options{})
	seq := uint64(0)
	f.Fuzz(func(t *testing.T, kind, payload, sev string) {
		seq++
		e := event.Event{Origin: "child", Seq: seq, Kind: kind, Severity: event.Severity(sev),
			Payload: json.RawMessage(payload), Time: time.Unix(int64(seq), 0).UTC()}
		if !json.Valid(e.Payload) {
			e.Payload = nil
		}
		if _, err := n.log.Ingest([]event.Event{e}, "child"); err != nil {
			t.Fatal(err)
		}
		n.m.mu.Lock()
		err := n.m.syncLocked()
		n.m.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if _, oc, err := n.m.Raise(Condition{Key: "probe", Type: "probe", Severity: event.SeverityMinor}); err != nil || oc == "" {
			t.Fatalf("raise after %q: %s %v", payload, oc, err)
		}
	})
}
