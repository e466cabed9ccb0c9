package exchange

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/logtest"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/seals"
)

// operator is one operator of a test: its own CA, certificate, listener
// and store.
type operator struct {
	id, dir, url string
	ln           net.Listener
	cert         tls.Certificate
	roles        []string
	logs         *logtest.Buffer
	x            *Exchange
	stop         context.CancelFunc
	done         chan struct{}
}

// world is operators that know each other as partners.
type world struct {
	t   *testing.T
	ops map[string]*operator
	now *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newWorld makes operators id=roles (roles comma-separated), each with its
// own CA, all partners of each other.
func newWorld(t *testing.T, specs ...string) *world {
	w := &world{t: t, ops: map[string]*operator{}, now: &clock{t: time.Now().UTC().Truncate(time.Minute)}}
	for _, s := range specs {
		id, roles, _ := strings.Cut(s, "=")
		dir := t.TempDir()
		if err := pki.InitCA(dir, id+" CA", 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		iss, err := pki.IssueOperator(dir, id, []string{"127.0.0.1"}, dir, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := LoadCertificate(iss.CertPath, iss.KeyPath, id)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		w.ops[id] = &operator{id: id, dir: dir, url: "https://" + ln.Addr().String(), ln: ln, cert: cert, roles: strings.Split(roles, ","), logs: &logtest.Buffer{}}
	}
	return w
}

// partnersOf lists everyone but id as partners.
func (w *world) partnersOf(id string) []Partner {
	var ps []Partner
	for _, o := range w.ops {
		if o.id == id {
			continue
		}
		roots, err := LoadRoots(filepath.Join(o.dir, pki.CACertFile))
		if err != nil {
			w.t.Fatal(err)
		}
		country, _, _ := strings.Cut(o.id, ".")
		ps = append(ps, Partner{ID: o.id, Country: country, URL: o.url, Roots: roots, Roles: o.roles})
	}
	return ps
}

// open opens id's exchange on its store, without running it.
func (w *world) open(id string) *Exchange {
	o := w.ops[id]
	if o.ln == nil {
		ln, err := net.Listen("tcp", strings.TrimPrefix(o.url, "https://"))
		if err != nil {
			w.t.Fatal(err)
		}
		o.ln = ln
	}
	x, err := Open(Options{Operator: id, Listener: o.ln, Cert: o.cert, Partners: w.partnersOf(id),
		Path: filepath.Join(o.dir, "seals.db"), Timeout: 2 * time.Second, RetryMax: 300 * time.Millisecond,
		Log: o.logs.Logger().With("op", id), Now: w.now.Now})
	if err != nil {
		w.t.Fatal(err)
	}
	o.x = x
	return x
}

// start opens (if need be) and runs id's exchange.
func (w *world) start(id string) *Exchange {
	o := w.ops[id]
	if o.x == nil {
		w.open(id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.stop, o.done = cancel, make(chan struct{})
	go func() { defer close(o.done); o.x.Run(ctx) }()
	w.t.Cleanup(func() {
		w.stop(id)
		if w.t.Failed() {
			w.t.Logf("log of %s:\n%s", id, o.logs)
		}
	})
	return o.x
}

// stop ends id's exchange and closes its store, as a process that stops.
func (w *world) stop(id string) {
	o := w.ops[id]
	if o.x == nil {
		return
	}
	if o.stop != nil {
		o.stop()
		<-o.done
		o.stop = nil
	}
	if err := o.x.Close(); err != nil {
		w.t.Error(err)
	}
	o.x, o.ln = nil, nil
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgs(t *testing.T, x *Exchange, f Filter) []Record {
	t.Helper()
	f.Limit = 100000
	rs, err := x.Messages(f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func inbound(t *testing.T, x *Exchange) []Record {
	var out []Record
	for _, r := range msgs(t, x, Filter{}) {
		if r.Dir == "in" {
			out = append(out, r)
		}
	}
	return out
}

func reading(at time.Time, battery int, lon, lat float64) seals.Reading {
	return seals.Reading{Battery: battery, Longitude: lon, Latitude: lat, Speed: 60, Time: seals.At(at)}
}

// A T1 query is answered to the requester with the seal's data in the
// window, naming the query (EAEU-6); T0 with the seal's shipments; an
// ownership lookup of an unknown seal goes to every national operator,
// and once the owner is known, to it alone.
func TestQueriesAreAnsweredToTheRequester(t *testing.T) {
	w := newWorld(t, "KZ.KTZE=national,tracking", "RU.GLONASS=national", "BY.BELTAM=national,transit")
	kz, ru, by := w.start("KZ.KTZE"), w.start("RU.GLONASS"), w.start("BY.BELTAM")
	t0 := w.now.Now()
	var rs []seals.Reading
	for i := range 30 {
		rs = append(rs, reading(t0.Add(time.Duration(i)*time.Minute), 90, 76.9, 43.2))
	}
	if _, err := ru.Take("RU-7700123456", rs); err != nil {
		t.Fatal(err)
	}
	if err := ru.Declare(Binding{Seal: "RU-7700123456", Shipment: "RU/2026/000042", Since: t0}); err != nil {
		t.Fatal(err)
	}
	q, err := kz.Send(seals.Message{To: "RU.GLONASS", Kind: seals.KindSealQuery, SealQuery: &seals.SealQuery{
		Seal: "RU-7700123456", Type: "T1", From: seals.At(t0.Add(10 * time.Minute)), To: seals.At(t0.Add(20 * time.Minute))}})
	if err != nil {
		t.Fatal(err)
	}
	var ans []Record
	eventually(t, "the T1 answer", func() bool {
		ans = msgs(t, kz, Filter{InReplyTo: q[0].Message.ID})
		return len(ans) == 1
	})
	a := ans[0].Message
	if a.From != "RU.GLONASS" || a.To != "KZ.KTZE" || a.Kind != seals.KindTechData || len(a.TechData.Readings) != 10 {
		t.Fatalf("T1 answer: %s→%s %s with %d readings, want RU→KZ tech_data with the 10 of the window", a.From, a.To, a.Kind, len(a.TechData.Readings))
	}
	q0, err := kz.Send(seals.Message{To: "RU.GLONASS", Kind: seals.KindSealQuery, SealQuery: &seals.SealQuery{
		Seal: "RU-7700123456", Type: "T0", From: seals.At(t0.Add(-time.Hour)), To: seals.At(t0.Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the T0 answer", func() bool {
		ans = msgs(t, kz, Filter{InReplyTo: q0[0].Message.ID})
		return len(ans) == 1
	})
	if s := ans[0].Message.SealShipments; s == nil || s.Result != "02" || len(s.Shipments) != 1 || s.Shipments[0] != "RU/2026/000042" {
		t.Fatalf("T0 answer: %+v", ans[0].Message)
	}

	// ownership: BY registered the seal; KZ does not know whose it is
	if err := by.Register("BY-0000777", true); err != nil {
		t.Fatal(err)
	}
	sent, err := kz.Send(seals.Message{Kind: seals.KindOwnershipQuery, OwnershipQuery: &seals.OwnershipQuery{Seal: "BY-0000777"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0].Message.ID == sent[1].Message.ID {
		t.Fatalf("the lookup of an unknown seal went to %d partners, want both national ones with an ID each", len(sent))
	}
	results := map[string]string{}
	eventually(t, "both ownership answers", func() bool {
		for _, s := range sent {
			for _, r := range msgs(t, kz, Filter{InReplyTo: s.Message.ID}) {
				results[r.Message.From] = r.Message.OwnershipAnswer.Result
			}
		}
		return len(results) == 2
	})
	if results["BY.BELTAM"] != "00" || results["RU.GLONASS"] != "01" {
		t.Fatalf("ownership answers %v, want BY 00 and RU 01", results)
	}
	again, err := kz.Send(seals.Message{Kind: seals.KindOwnershipQuery, OwnershipQuery: &seals.OwnershipQuery{Seal: "BY-0000777"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Peer != "BY.BELTAM" {
		t.Fatalf("a lookup of a seal whose operator is known went to %v, want BY alone", again)
	}
}

// EAEU-4: nothing is ever addressed to this operator.
func TestNeverToSelf(t *testing.T) {
	w := newWorld(t, "KZ.KTZE=national", "RU.GLONASS=national")
	kz := w.open("KZ.KTZE")
	defer w.stop("KZ.KTZE")
	_, err := kz.Send(seals.Message{To: "KZ.KTZE", Kind: seals.KindShipmentQuery, ShipmentQuery: &seals.ShipmentQuery{Shipment: "KZ/1"}})
	if err == nil || !strings.HasPrefix(err.Error(), "to: KZ.KTZE is this operator") {
		t.Fatalf("a message to oneself: %v", err)
	}
	if n := len(msgs(t, kz, Filter{})); n != 0 {
		t.Fatalf("%d messages logged after a refusal", n)
	}
}

// Messages queued for a partner that is down survive the sender's
// restart and reach the partner once each when it comes up; a 5xx, and
// an answer lost after the partner stored the message, are retried with
// the same ID and taken once.
func TestOutboxDeliversOnceThroughOutageRestartAnd5xx(t *testing.T) {
	w := newWorld(t, "KZ.KTZE=national", "BY.BELTAM=national")
	w.ops["BY.BELTAM"].ln.Close() // BY is down
	w.ops["BY.BELTAM"].ln = nil
	kz := w.start("KZ.KTZE")
	const n = 40
	for i := range n {
		if _, err := kz.Send(seals.Message{To: "BY.BELTAM", Kind: seals.KindShipmentQuery,
			ShipmentQuery: &seals.ShipmentQuery{Shipment: fmt.Sprintf("KZ/2026/%06d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "a failed attempt", func() bool {
		ps, _ := kz.Partners()
		return ps[0].LastError != "" && ps[0].Queued == n
	})
	w.stop("KZ.KTZE") // the sender restarts with its outbox full
	kz = w.start("KZ.KTZE")

	// BY comes up behind a front that fails its first requests: two 503s,
	// then two whose message BY stores but whose answer is lost
	by := w.open("BY.BELTAM")
	var calls atomic.Int32
	front := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch c := calls.Add(1); {
		case c <= 2:
			http.Error(rw, "busy", http.StatusServiceUnavailable)
		case c <= 4:
			by.receive(&discard{h: http.Header{}}, r)
			http.Error(rw, "lost", http.StatusBadGateway)
		default:
			by.receive(rw, r)
		}
	})
	srv := &http.Server{Handler: front, TLSConfig: by.serverTLS()}
	go srv.ServeTLS(w.ops["BY.BELTAM"].ln, "", "")
	defer srv.Close()
	eventually(t, "every message delivered", func() bool {
		ps, _ := kz.Partners()
		return ps[0].Queued == 0
	})
	in := inbound(t, by)
	ids := map[string]int{}
	for _, r := range in {
		ids[r.Message.ID]++
	}
	if len(in) != n || len(ids) != n {
		t.Fatalf("BY took %d messages with %d IDs, want %d once each", len(in), len(ids), n)
	}
	for _, r := range msgs(t, kz, Filter{Peer: "BY.BELTAM"}) {
		if r.Dir == "out" && r.Message.Kind == seals.KindShipmentQuery && r.Status != StatusDelivered {
			t.Fatalf("%s is %s after delivery", r.Message.ID, r.Status)
		}
	}
	if calls.Load() < n+4 {
		t.Fatalf("only %d requests reached BY's front", calls.Load())
	}
}

// discard is a ResponseWriter whose answer is lost.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// decodeAnswer reads an exchange's answer.
func decodeAnswer(t *testing.T, resp *http.Response) Answer {
	t.Helper()
	defer resp.Body.Close()
	var a Answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}
