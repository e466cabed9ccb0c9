package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/anpr"
)

// The demo's crossing: the readers at the entry and at customs, the
// exit barrier's relay box, and customs' and the owner's systems, played
// by this file around the trucks Camera1 reads off the synthetic video.
// The first truck's card, and every third after it, does not match what
// customs reads (its case waits for the operator in the console) unless
// another truck's case still waits; the second, and every fourth after it,
// reverses at the exit before leaving.

const (
	demoEntryReaderToken   = "demo-entry-reader-token"
	demoCustomsReaderToken = "demo-customs-reader-token"
)

// demoCheckpoint is the checkpoint: section of the demo site.
func demoCheckpoint(relayURL string) string {
	return fmt.Sprintf(`checkpoint:
  readers:
    - {id: entry-reader, zone: gate-in, token: %s, from: [127.0.0.1/32], max_silence: 1m}
    - {id: customs-reader, zone: customs, token: %s, from: [127.0.0.1/32]}
  barriers:
    - {id: exit-barrier, zone: gate-out, url: %q}
  exit_parties: {customs: [customs], owner: [owner]}
`, demoEntryReaderToken, demoCustomsReaderToken, relayURL)
}

// demoRelay is the exit barrier's simulated relay box: it logs and counts
// the commands it takes.
type demoRelay struct {
	srv   *http.Server
	addr  string
	opens atomic.Int64
}

func startDemoRelay(log *slog.Logger) (*demoRelay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &demoRelay{addr: ln.Addr().String()}
	r.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var c struct {
			Barrier, Action, Visit string
			Plates                 struct{ Tractor, Trailer string }
			Manual                 bool
		}
		if req.Method != http.MethodPost || json.NewDecoder(io.LimitReader(req.Body, 4096)).Decode(&c) != nil || c.Action != "open" {
			http.Error(w, "the relay takes POST {\"action\": \"open\"}", http.StatusBadRequest)
			return
		}
		n := r.opens.Add(1)
		log.Info("barrier relay: open", "barrier", c.Barrier, "visit", c.Visit, "tractor", c.Plates.Tractor, "manual", c.Manual, "openings", n)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *demoRelay) URL() string { return "http://" + r.addr + "/relay/exit" }

func (r *demoRelay) Close() { _ = r.srv.Close() }

// demoStage is how long a truck stays at each stage: short enough that it
// leaves before the synthetic video brings it to the entry again (its
// trucks come round every half minute or so).
const demoStage = 5 * time.Second

// demoCrossing drives the trucks through the crossing until ctx ends.
type demoCrossing struct {
	base     string
	log      *slog.Logger
	customs  *demoClient
	owner    *demoClient
	trucks   map[string]*demoTruck // visit ID ->
	cards    int
	interval time.Duration // between steps
	stage    time.Duration // a truck's time at each stage
}

type demoTruck struct {
	n     int
	card  string
	plate string
	stage string // bound, customs, mismatch, reversed, exit, gone
	since time.Time
	// granted is the visit customs gave its exit permission to: a re-read
	// at the entry after that moves the truck to a new visit, which
	// customs must grant again.
	granted string
}

type demoClient struct {
	base string
	http *http.Client
	csrf string
}

func demoLogin(ctx context.Context, base, user, password string) (*demoClient, error) {
	jar, _ := cookiejar.New(nil)
	c := &demoClient{base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if err := c.call(ctx, "POST", "/api/v1/auth/login", "", map[string]string{"user": user, "password": password}, &out); err != nil {
		return nil, err
	}
	c.csrf = out.CSRF
	return c, nil
}

// call makes one request; bearer, when given, authenticates a device.
func (c *demoClient) call(ctx context.Context, method, path, bearer string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	} else if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func runDemoCrossing(ctx context.Context, base string, log *slog.Logger) {
	d := &demoCrossing{base: base, log: log, trucks: map[string]*demoTruck{}, interval: 2 * time.Second, stage: demoStage}
	d.run(ctx)
}

func (d *demoCrossing) run(ctx context.Context) {
	base, log := d.base, d.log
	for d.customs == nil || d.owner == nil {
		var err error
		if d.customs == nil {
			d.customs, _ = demoLogin(ctx, base, "customs", "kuzet-customs")
		}
		if d.owner == nil {
			d.owner, err = demoLogin(ctx, base, "owner", "kuzet-owner")
		}
		if d.customs != nil && d.owner != nil {
			break
		}
		log.Debug("crossing: waiting for the site", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
	tick := time.NewTicker(d.interval)
	defer tick.Stop()
	heartbeat := time.NewTicker(20 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			_ = d.customs.call(ctx, "POST", "/api/v1/readers/entry-reader/heartbeat", demoEntryReaderToken, nil, nil)
		case <-tick.C:
			if err := d.step(ctx); err != nil && ctx.Err() == nil {
				log.Warn("crossing", "err", err)
			}
		}
	}
}

type demoCase struct {
	ID, Visit, State string
	Unblocked        any
}

type demoVisit struct {
	ID       string
	Tractor  string
	Token    string
	Passages []struct{ Zone, Tractor string }
}

// step moves each truck on by one stage when its time has come.
func (d *demoCrossing) step(ctx context.Context) error {
	var open struct{ Visits []demoVisit }
	if err := d.customs.call(ctx, "GET", "/api/v1/visits?state=open&limit=200", "", nil, &open); err != nil {
		return err
	}
	var cases struct{ Cases []demoCase }
	if err := d.customs.call(ctx, "GET", "/api/v1/cases?limit=200", "", nil, &cases); err != nil {
		return err
	}
	caseOf := map[string]demoCase{} // visit ID -> its newest case
	for _, c := range slices.Backward(cases.Cases) {
		caseOf[c.Visit] = c
	}
	// One truck at a time waits for the operator: the video brings the
	// same few trucks round, and each held at customs takes its plate out
	// of the crossing until its case is settled.
	waiting := false
	for id, t := range d.trucks {
		if c, ok := caseOf[id]; t.stage == "mismatch" && (!ok || c.State == "open") {
			waiting = true
		}
	}
	now := time.Now()
	for _, v := range open.Visits {
		if _, ok := d.trucks[v.ID]; ok || v.Token != "" || v.Tractor == "" || !atEntry(v) || d.onSite(v.Tractor) {
			continue
		}
		d.cards++
		t := &demoTruck{n: d.cards, card: fmt.Sprintf("CARD-%04d", d.cards), plate: v.Tractor, stage: "bound", since: now}
		var res struct{ Result string }
		if err := d.customs.call(ctx, "POST", "/api/v1/readers/entry-reader/presentations", demoEntryReaderToken, map[string]string{"token": t.card}, &res); err != nil {
			d.log.Info("crossing: card not bound", "plate", v.Tractor, "err", err)
			t.stage = "gone"
		} else {
			d.log.Info("crossing: card handed out at the entry", "card", t.card, "plate", t.plate, "result", res.Result)
		}
		d.trucks[v.ID] = t
	}
	for id, t := range d.trucks {
		if now.Sub(t.since) < d.stage {
			continue
		}
		switch t.stage {
		case "bound": // at customs: its card at the reader
			read := t.plate
			if t.n%3 == 1 && !waiting {
				read = otherPlate(t.plate) // not the truck the card was given to
				waiting = true
			}
			if err := d.plate(ctx, "Camera2", "demo-camera2-anpr-token", read, ""); err != nil {
				return err
			}
			d.waitRead(ctx, read, "customs") // the camera's read is filed when its pass ends
			var res struct{ Result, Case string }
			if err := d.customs.call(ctx, "POST", "/api/v1/readers/customs-reader/presentations", demoCustomsReaderToken, map[string]string{"token": t.card}, &res); err != nil {
				d.log.Info("crossing: card refused at customs", "card", t.card, "err", err)
			}
			d.log.Info("crossing: card at customs", "card", t.card, "plate", t.plate, "read", read, "result", res.Result, "case", res.Case)
			t.stage = "customs"
			if res.Result == "mismatch" {
				t.stage = "mismatch" // waits for the operator's attempts
			}
		case "customs": // customs grants the exit; the truck drives to the barrier
			if d.atExit() {
				continue // one lane: the truck before it is still at the barrier
			}
			d.grantCustoms(ctx, t, d.visitNow(ctx, id, t.plate, open.Visits))
			if t.n%4 == 2 { // reverses in the exit lane first
				if err := d.plate(ctx, "Camera3", "demo-camera3-anpr-token", t.plate, "entry"); err != nil {
					return err
				}
				t.stage = "reversed"
				break
			}
			if err := d.plate(ctx, "Camera3", "demo-camera3-anpr-token", t.plate, "exit"); err != nil {
				return err
			}
			t.stage = "exit"
		case "reversed": // then drives to the barrier, once the camera's pass
			// of its reversing has ended: a read within it would be the
			// same pass, going the wrong way, and never open the barrier
			if now.Sub(t.since) < anpr.ExternalGap+time.Second {
				continue
			}
			if err := d.plate(ctx, "Camera3", "demo-camera3-anpr-token", t.plate, "exit"); err != nil {
				return err
			}
			t.stage = "exit"
		case "exit": // the owner's system grants it: the barrier opens
			v := d.visitNow(ctx, id, t.plate, open.Visits)
			if v != t.granted {
				d.grantCustoms(ctx, t, v)
			}
			if err := d.owner.call(ctx, "POST", "/api/v1/visits/"+v+"/exit", "", nil, nil); err != nil {
				d.log.Info("crossing: the owner's permission", "plate", t.plate, "err", err)
			}
			t.stage = "gone"
		case "mismatch": // goes on once its case is settled, or its card unblocked
			c, ok := caseOf[id]
			if !ok || c.State == "open" || (c.State == "blocked" && c.Unblocked == nil) {
				continue
			}
			d.log.Info("crossing: case settled, the truck goes on", "card", t.card, "plate", t.plate, "case", c.ID, "state", c.State)
			t.stage = "customs"
		case "gone":
			if now.Sub(t.since) > 10*time.Minute {
				delete(d.trucks, id)
			}
			continue
		}
		t.since = now
	}
	return nil
}

// onSite reports whether a truck with this plate is still going through
// the crossing: a visit its plate opens at the entry then is the same
// truck read again, not another to hand a card to.
func (d *demoCrossing) onSite(plate string) bool {
	for _, t := range d.trucks {
		if t.plate == plate && t.stage != "gone" {
			return true
		}
	}
	return false
}

// grantCustoms gives customs' exit permission to the truck's visit v.
func (d *demoCrossing) grantCustoms(ctx context.Context, t *demoTruck, v string) {
	if err := d.customs.call(ctx, "POST", "/api/v1/visits/"+v+"/exit", "", nil, nil); err != nil {
		d.log.Info("crossing: customs' permission", "plate", t.plate, "visit", v, "err", err)
		return
	}
	d.log.Info("crossing: customs grants the exit", "plate", t.plate, "visit", v)
	t.granted = v
}

// visitNow is the visit a truck that began as visit id is in now: the one
// the exit barrier holds for its plate, else its own while open, else the
// newest open visit of its plate. The video brings the same plates round
// to the entry camera, and a plate read there again closes the visit it
// was in and opens another (on a loaded machine a truck's stages can
// outlast the round); a permission for the closed one is refused, and the
// barrier would wait for good.
func (d *demoCrossing) visitNow(ctx context.Context, id, plate string, open []demoVisit) string {
	var bs struct {
		Barriers []struct {
			State, Visit string
			Read         struct{ Tractor string }
		}
	}
	if d.customs.call(ctx, "GET", "/api/v1/barriers", "", nil, &bs) == nil {
		for _, b := range bs.Barriers {
			if b.State == "waiting" && b.Read.Tractor == plate && b.Visit != "" {
				return b.Visit
			}
		}
	}
	newest := ""
	for _, v := range open {
		if v.ID == id {
			return id
		}
		if v.Tractor == plate && visitAfter(v.ID, newest) {
			newest = v.ID
		}
	}
	return cmp.Or(newest, id)
}

// visitAfter reports whether visit ID a (site/sequence) was opened after b
// ("" none).
func visitAfter(a, b string) bool {
	return b == "" || len(a) > len(b) || len(a) == len(b) && a > b
}

// atExit reports whether a truck stands at the exit barrier, waiting for
// the owner's permission: the next one queues behind it (a barrier decides
// for the vehicle read at it last).
func (d *demoCrossing) atExit() bool {
	for _, t := range d.trucks {
		if t.stage == "reversed" || t.stage == "exit" {
			return true
		}
	}
	return false
}

// waitRead waits (15 s at most) until a read of plate at zone is in a
// visit.
func (d *demoCrossing) waitRead(ctx context.Context, plate, zone string) {
	for range 30 {
		var vs struct{ Visits []demoVisit }
		if d.customs.call(ctx, "GET", "/api/v1/visits?state=open&zone="+zone, "", nil, &vs) == nil {
			for _, v := range vs.Visits {
				for _, p := range v.Passages {
					if p.Zone == zone && p.Tractor == plate {
						return
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// atEntry reports whether a visit has been nowhere but the entry.
func atEntry(v demoVisit) bool {
	for _, p := range v.Passages {
		if p.Zone != "gate-in" {
			return false
		}
	}
	return len(v.Passages) > 0
}

func (d *demoCrossing) plate(ctx context.Context, camera, token, plate, direction string) error {
	body := map[string]any{"plate": plate, "confidence": 0.97}
	if direction != "" {
		body["direction"] = direction
	}
	return d.customs.call(ctx, "POST", "/api/v1/cameras/"+camera+"/plates", token, body, nil)
}

// otherPlate is a plate one character off: another truck, or a misread.
func otherPlate(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] >= '0' && b[i] <= '8' {
			b[i]++
			return string(b)
		}
		if b[i] == '9' {
			b[i] = '0'
			return string(b)
		}
	}
	return p + "X"
}
