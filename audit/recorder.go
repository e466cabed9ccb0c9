package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/event"
)

// Log is where entries go: the node's event log (*event.Log satisfies it).
type Log interface {
	event.Emitter
	Origin() string
	Search(limit int, match func(event.Event) bool) ([]event.Event, error)
}

// Options configure a Recorder.
type Options struct {
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Recorder appends hash-chained entries to the event log. Appends are
// serialised, so the chain has no forks however many handlers record at
// once.
type Recorder struct {
	log    Log
	origin string
	now    func() time.Time
	logger *slog.Logger

	entries  prometheus.Counter
	failures prometheus.Counter

	mu   sync.Mutex
	seq  uint64
	head string
}

// New opens the chain, continuing from the last audit entry of this
// origin found in the log.
func New(l Log, o Options) (*Recorder, error) {
	if l == nil {
		return nil, errors.New("audit: no event log")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Recorder{
		log: l, origin: l.Origin(), now: o.Now, logger: o.Logger,
		entries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_audit_entries_total", Help: "Audit entries recorded by this node.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kuzet_audit_failures_total", Help: "Audit entries that could not be stored.",
		}),
	}
	last, err := l.Search(1, func(e event.Event) bool { return e.Kind == Kind && e.Origin == r.origin })
	if err != nil {
		return nil, fmt.Errorf("audit: find the chain head of %s: %w", r.origin, err)
	}
	if len(last) == 1 {
		p, err := decodePayload(last[0].Payload)
		if err != nil {
			return nil, fmt.Errorf("audit: chain head %s is unreadable (run `kuzet audit verify`): %w", last[0].ID(), err)
		}
		r.seq, r.head = p.Seq, p.Hash
	}
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{r.entries, r.failures} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register audit metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Head returns the last entry's audit sequence and hash.
func (r *Recorder) Head() (uint64, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq, r.head
}

// Record appends one entry durably and returns the stored event. Action
// and User are required.
func (r *Recorder) Record(e Entry) (event.Event, error) {
	if e.Action == "" {
		return event.Event{}, errors.New("audit entry: action is required")
	}
	if e.User == "" {
		return event.Event{}, fmt.Errorf("audit entry %s: user is required", e.Action)
	}
	e = e.clean()
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.now().UTC()
	p := Payload{Seq: r.seq + 1, User: e.User, Role: e.Role, Action: e.Action, Object: e.Object,
		Detail: e.Detail, Source: e.Source, Prev: r.head}
	p.Hash = ChainHash(r.origin, t, p)
	ev := event.New(Kind, "", event.SeverityInfo, p)
	ev.Time = t
	stored, err := r.log.Append(ev)
	if err != nil {
		r.failures.Inc()
		r.logger.Error("audit entry not stored", "user", e.User, "action", e.Action, "object", e.Object, "err", err)
		return stored, fmt.Errorf("record audit %s by %s: %w", e.Action, e.User, err)
	}
	r.entries.Inc()
	r.seq, r.head = p.Seq, p.Hash
	return stored, nil
}

// Who names the caller of a request: user, role, client address.
type Who func(r *http.Request) (user, role, source string, ok bool)

// Wrap records action on object for each request before serving it; when
// the entry cannot be stored the request is refused (503), so nothing
// happens unrecorded. object may be nil.
func (r *Recorder) Wrap(action string, object func(*http.Request) string, who Who, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		e := Entry{Action: action, User: "anonymous", Source: req.RemoteAddr}
		if who != nil {
			if u, role, src, ok := who(req); ok {
				e.User, e.Role, e.Source = u, role, src
			}
		}
		if object != nil {
			e.Object = object(req)
		} else {
			e.Object = req.Method + " " + req.URL.RequestURI()
		}
		if _, err := r.Record(e); err != nil {
			writeError(w, http.StatusServiceUnavailable, "not done: the audit log is unavailable: "+err.Error())
			return
		}
		h.ServeHTTP(w, req)
	})
}

// decodePayload reads an audit payload strictly: an unknown field is as
// much a sign of tampering as a changed one.
func decodePayload(raw json.RawMessage) (Payload, error) {
	var p Payload
	if len(raw) == 0 {
		return p, errors.New("no payload")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("payload: %w", err)
	}
	if dec.More() {
		return p, errors.New("payload: data after the JSON object")
	}
	if p.Seq == 0 {
		return p, errors.New("payload: seq missing or 0")
	}
	if !isHash(p.Hash) {
		return p, fmt.Errorf("payload: hash %q is not 64 hex digits", p.Hash)
	}
	if p.Prev != "" && !isHash(p.Prev) {
		return p, fmt.Errorf("payload: prev %q is not 64 hex digits", p.Prev)
	}
	return p, nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
