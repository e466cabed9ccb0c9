package alarm

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/testkit"
)

// receiver is a webhook endpoint that keeps changes by idempotency key. It
// can drop connections (as if down), answer 500, or accept.
type receiver struct {
	mu       sync.Mutex
	mode     string
	stored   map[string]Change
	accepted map[string]int // 2xx answers per key
	attempts int
	badAuth  int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.attempts++
	mode := r.mode
	r.mu.Unlock()
	switch mode {
	case "down":
		// the connection dies before any answer
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case "500":
		http.Error(w, "maintenance", http.StatusInternalServerError)
		return
	}
	if req.Header.Get("Authorization") != "Bearer s3cret" {
		r.mu.Lock()
		r.badAuth++
		r.mu.Unlock()
		http.Error(w, "who are you", http.StatusUnauthorized)
		return
	}
	b, _ := io.ReadAll(req.Body)
	var c Change
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" || c.ID != req.Header.Get("Idempotency-Key") {
		http.Error(w, "bad change", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stored[c.ID] = c
	r.accepted[c.ID]++
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) set(mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode = mode
}

func (r *receiver) keys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k := range r.stored {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The webhook receives every state change once per idempotency key while
// it first drops connections, then answers 500, with the node restarting
// in between; meanwhile its failure raises an alarm, cleared once it
// accepts again.
func TestWebhookAcrossOutageAndRestart(t *testing.T) {
	rcv := &receiver{mode: "down", stored: map[string]Change{}, accepted: map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	n := newNode(t, "site-1", Options{
		Rules: Rules{Escalate: map[event.Severity]time.Duration{event.SeverityGrave: time.Minute}},
		Webhook: Webhook{URL: srv.URL + "/alarms", AuthHeader: "Authorization: Bearer s3cret",
			BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond, FailAlarmAfter: 3},
		Tick: 20 * time.Millisecond,
	})
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { n.m.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := run()

	a, _, err := n.m.Raise(Condition{Key: "camera_offline:Camera1", Type: "camera_offline", Camera: "Camera1",
		Severity: event.SeverityMedium, Message: "offline"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := n.m.Raise(Condition{Key: "tamper_covered:Camera2", Type: "tamper_covered", Camera: "Camera2",
		Severity: event.SeverityGrave, Message: "covered"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.m.Ack(a.ID, "aigerim", "on it"); err != nil {
		t.Fatal(err)
	}
	n.clock.Advance(time.Minute) // b escalates
	testkit.WaitFor(t, 20*time.Second, "escalation", func() bool { g, _ := n.m.Get(b.ID); return g.Escalations == 1 })
	testkit.WaitFor(t, 20*time.Second, "webhook failing alarm", func() bool {
		return len(n.m.List(Filter{States: []State{StateRaised}, Severities: []event.Severity{event.SeverityMedium}})) == 1
	})

	// restart in the middle of the outage: the queue is durable
	stop()
	n.restart()
	stop = run()
	n.emit(event.KindAlarmCleared, "Camera1", "camera_offline", "camera_offline:Camera1", event.SeverityInfo, "back")
	rcv.set("500")
	time.Sleep(300 * time.Millisecond)
	if got := rcv.keys(); len(got) != 0 {
		t.Fatalf("stored while failing: %v", got)
	}
	rcv.set("ok")

	failing := alarmID("site-1", AlarmWebhookFailing, failingSeq(t, n.log))
	want := []string{
		a.ID + "/raised", a.ID + "/acked", a.ID + "/cleared",
		b.ID + "/raised", b.ID + "/escalated/1",
		failing + "/raised", failing + "/cleared",
	}
	sort.Strings(want)
	testkit.WaitFor(t, 20*time.Second, "every change delivered", func() bool { return strings.Join(rcv.keys(), " ") == strings.Join(want, " ") })
	stop()

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for k, n := range rcv.accepted {
		if n != 1 {
			t.Errorf("%s accepted %d times", k, n)
		}
	}
	if rcv.badAuth != 0 {
		t.Errorf("%d requests without the auth header", rcv.badAuth)
	}
	if rcv.attempts <= len(want) {
		t.Errorf("only %d attempts: the outage was not exercised", rcv.attempts)
	}
	if c := rcv.stored[a.ID+"/acked"]; c.Change != ChangeAcked || c.Alarm.AckUser != "aigerim" || c.Node != "site-1" {
		t.Errorf("acked change: %+v", c)
	}
	if c := rcv.stored[b.ID+"/escalated/1"]; c.Alarm.Escalations != 1 || !c.Alarm.Final {
		t.Errorf("escalated change: %+v", c)
	}
	if c := rcv.stored[a.ID+"/cleared"]; c.Alarm.State != StateCleared || c.Alarm.AckUser != "aigerim" {
		t.Errorf("cleared change: %+v", c)
	}
}

func failingSeq(t *testing.T, l *event.Log) uint64 {
	t.Helper()
	for _, e := range eventsOf(t, l, event.KindAlarmRaised) {
		if payloadOf(t, e).Type == AlarmWebhookFailing {
			return e.Seq
		}
	}
	t.Fatal("no alarm_webhook_failing raised")
	return 0
}

// The webhook's credentials never reach an alarm: alarm_webhook_failing
// names the endpoint without the password and query of its URL, and
// without the auth header.
func TestWebhookFailingAlarmHidesSecrets(t *testing.T) {
	n := newNode(t, "site-1", Options{
		Webhook: Webhook{URL: "http://hookuser:hookpass@127.0.0.1:1/alarms?token=tok123", AuthHeader: "Authorization: Bearer hdrsecret",
			BackoffMin: 10 * time.Millisecond, BackoffMax: 20 * time.Millisecond, FailAlarmAfter: 1},
		Tick: 20 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if _, _, err := n.m.Raise(Condition{Key: "k", Type: "t", Severity: event.SeverityMinor, Message: "m"}); err != nil {
		t.Fatal(err)
	}
	var failing []Alarm
	testkit.WaitFor(t, 20*time.Second, "webhook failing alarm", func() bool {
		failing = n.m.List(Filter{Severities: []event.Severity{event.SeverityMedium}})
		return len(failing) == 1
	})
	msg := failing[0].Message
	for _, secret := range []string{"hookpass", "tok123", "hdrsecret"} {
		if strings.Contains(msg, secret) {
			t.Errorf("alarm message shows %q: %s", secret, msg)
		}
	}
	if !strings.Contains(msg, "http://hookuser@127.0.0.1:1/alarms") {
		t.Errorf("alarm message does not name the endpoint: %s", msg)
	}
	if _, err := Open(Options{Path: filepath.Join(t.TempDir(), "a.db"), Log: n.log,
		Webhook: Webhook{URL: "ftp://u:ftppass@host/x"}}); err == nil || strings.Contains(err.Error(), "ftppass") {
		t.Errorf("bad webhook URL: %v", err)
	}
}
