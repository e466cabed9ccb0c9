package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/webhook"
)

// batch is how many log events one commit applies.
const batch = 512

// maxDeferred bounds the events kept for alarms that have not arrived.
const maxDeferred = 10000

// Limits on what operators type.
const (
	maxUser    = 128
	maxComment = 1000
)

// Manager keeps the alarm table of a node: it applies every alarm event of
// the node's log — its own and those replicated from children — from a
// durable cursor, so the table survives restarts and is rebuilt from the
// log when its file is lost. Every state change it makes (acknowledgement,
// escalation, operator clear) is itself an event in the log, so parents see
// it too.
type Manager struct {
	o          Options
	db         *bolt.DB
	node       string
	metrics    *metrics
	outboxWake chan struct{}
	downWake   chan struct{}

	mu        sync.Mutex
	alarms    map[string]*Alarm
	latest    map[string]string
	pending   map[string]*held
	deferred  map[string][]event.Event
	cursor    uint64
	outcomes  map[uint64]Outcome // of the last sync, by log position
	lastPrune time.Time

	failMu  sync.Mutex // the webhook sender's failure state
	failing bool
}

// Open opens (or creates) the table file and loads it.
func Open(o Options) (*Manager, error) {
	if o.Log == nil {
		return nil, fmt.Errorf("alarm manager: no event log")
	}
	o.Rules = o.Rules.withDefaults()
	if err := o.Rules.validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Keep <= 0 {
		o.Keep = 30 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	w := &o.Webhook
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Second
	}
	if w.BackoffMin <= 0 {
		w.BackoffMin = time.Second
	}
	if w.BackoffMax <= 0 {
		w.BackoffMax = time.Minute
	}
	if w.FailAlarmAfter <= 0 {
		w.FailAlarmAfter = 5
	}
	if w.URL != "" && !strings.HasPrefix(w.URL, "http://") && !strings.HasPrefix(w.URL, "https://") {
		return nil, fmt.Errorf("alarms.webhook.url: %q is not an http(s) URL", webhook.Endpoint(w.URL))
	}
	if w.AuthHeader != "" && !strings.Contains(w.AuthHeader, ":") {
		return nil, fmt.Errorf("alarms.webhook.auth_header is not \"Name: value\" (not shown: it is a secret)")
	}
	db, err := bolt.Open(o.Path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open alarm table %s: %w", o.Path, err)
	}
	m := &Manager{o: o, db: db, node: o.Log.Origin(), metrics: newMetrics(o.Registerer),
		outboxWake: make(chan struct{}, 1), downWake: make(chan struct{}, 1), alarms: map[string]*Alarm{}, latest: map[string]string{},
		pending: map[string]*held{}, deferred: map[string][]event.Event{}}
	if err := m.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("load alarm table %s: %w", o.Path, err)
	}
	m.mu.Lock()
	err = m.syncLocked()
	m.mu.Unlock()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return m, nil
}

// Close closes the table file; Run must have returned.
func (m *Manager) Close() error { return m.db.Close() }

// Run follows the log, escalates, promotes held raises, prunes and feeds
// the webhook until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	m.o.Log.Hold("alarm table", func() (uint64, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.cursor, nil
	})
	wake, stop := m.o.Log.Watch(64)
	defer stop()
	var wg sync.WaitGroup
	if m.o.Webhook.URL != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.deliver(ctx)
		}()
	}
	if m.o.Down != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.sendDown(ctx)
		}()
	}
	defer wg.Wait()
	tick := time.NewTicker(m.o.Tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
			m.mu.Lock()
			err := m.syncLocked()
			m.mu.Unlock()
			if err != nil {
				m.o.Logger.Error("apply alarm events", "err", err)
			}
		case <-tick.C:
			m.timers()
		}
	}
}

// syncLocked applies every log event after the cursor.
func (m *Manager) syncLocked() error {
	m.outcomes = map[uint64]Outcome{}
	for {
		evs, err := m.o.Log.Range(m.cursor, batch)
		if err != nil {
			return fmt.Errorf("read event log after %d: %w", m.cursor, err)
		}
		if len(evs) == 0 {
			return nil
		}
		t := m.newTxn()
		for _, e := range evs {
			t.apply(e)
			t.cursor = e.Pos
		}
		if err := t.commit(); err != nil {
			return err
		}
		for pos, oc := range t.outcomes {
			m.outcomes[pos] = oc
		}
	}
}

// apply folds one event into the table.
func (t *txn) apply(e event.Event) {
	switch e.Kind {
	case event.KindAlarmRaised, event.KindAlarmCleared, KindAcked, KindEscalated:
	default:
		return
	}
	var p Payload
	if err := json.Unmarshal(e.Payload, &p); err != nil || p.Key == "" {
		t.m.o.Logger.Warn("alarm event without a usable payload; skipped", "id", e.ID(), "kind", e.Kind, "err", err)
		t.outcomes[e.Pos] = OutcomeIgnored
		return
	}
	switch e.Kind {
	case event.KindAlarmRaised:
		t.outcomes[e.Pos] = t.raise(e, p)
	case event.KindAlarmCleared:
		t.clear(e, p)
	case KindAcked:
		t.ack(e, p)
	case KindEscalated:
		t.escalate(e, p)
	}
}

func (t *txn) severity(typ string, given event.Severity) event.Severity {
	if s, ok := t.m.o.Rules.Severity[typ]; ok {
		return s
	}
	if _, err := ParseSeverity(string(given)); err != nil {
		return event.SeverityMinor // an alarm raised without one still needs a place in the table
	}
	return given
}

func (t *txn) raise(e event.Event, p Payload) Outcome {
	k := originKey(e.Origin, p.Key)
	at := e.Time
	if h := t.heldOf(k); h != nil && !at.Before(h.Until) {
		t.promote(k, h, h.Until)
	}
	if h := t.heldOf(k); h != nil {
		h.Count++
		h.LastSeen, h.Message = at, p.Message
		return OutcomeSuppressed
	}
	sev := t.severity(p.Type, e.Severity)
	rules := t.m.o.Rules
	var superseded *Alarm
	if a := t.latestOf(k); a != nil {
		switch {
		case a.State.Open() && rules.Dedupe > 0 && at.Sub(a.LastSeen) <= rules.Dedupe:
			a.Count++
			if at.After(a.LastSeen) {
				a.LastSeen = at
			}
			a.Message, a.Updated = p.Message, at
			if severityRank(sev) < severityRank(a.Severity) {
				a.Severity = sev
			}
			t.evidence(a, e, p)
			return OutcomeRepeat
		case a.State.Open():
			superseded = a
		case rules.recurs(a, at):
			// the condition came back moments after its clear: the same
			// alarm stands again at once. Holding the raise back until the
			// window ended showed a grave condition as cleared while it
			// was there.
			t.reopen(a, e, p, sev)
			return OutcomeReopened
		}
	}
	n := t.open(e, p, sev)
	if n == nil {
		return OutcomeIgnored
	}
	if superseded != nil {
		superseded.State, superseded.Cleared, superseded.Updated = StateCleared, at, at
		superseded.SupersededBy = n.ID
		t.change(ChangeCleared, superseded, at)
	}
	t.change(ChangeRaised, n, at)
	t.applyDeferred(n.ID)
	return OutcomeNew
}

// recurs reports whether a raise at at comes within the suppression window
// after the clear of a, so that it re-opens a rather than making another.
func (r Rules) recurs(a *Alarm, at time.Time) bool {
	return !a.State.Open() && r.Suppress > 0 && !at.Before(a.Cleared) && at.Sub(a.Cleared) < r.Suppress
}

// reopen raises a cleared alarm again: raised, or acknowledged when an
// operator already acknowledged it. Suppressed counts the re-openings and
// numbers their changes for the webhook.
func (t *txn) reopen(a *Alarm, e event.Event, p Payload, sev event.Severity) {
	at := e.Time
	a.Suppressed++
	a.Count++
	a.State = StateRaised
	if !a.Acked.IsZero() {
		a.State = StateAcknowledged
	}
	a.Cleared, a.ClearedBy = time.Time{}, ""
	if at.After(a.LastSeen) {
		a.LastSeen = at
	}
	a.Message, a.Updated = p.Message, at
	if severityRank(sev) < severityRank(a.Severity) {
		a.Severity = sev
	}
	t.evidence(a, e, p)
	t.change(ChangeRaised, a, at)
}

// open makes a new alarm from a raise event.
func (t *txn) open(e event.Event, p Payload, sev event.Severity) *Alarm {
	id := alarmID(e.Origin, p.Key, e.Seq)
	if t.get(id) != nil {
		return nil // the same raise twice: never two alarms
	}
	a := &Alarm{ID: id, Origin: e.Origin, Key: p.Key, Type: p.Type, Camera: e.Camera,
		Severity: sev, Initial: sev, Message: p.Message, State: StateRaised,
		Raised: e.Time, LastSeen: e.Time, Updated: e.Time, Count: 1, RaiseEvent: e.ID()}
	if a.Type == "" {
		a.Type, _, _ = strings.Cut(p.Key, ":")
	}
	t.evidence(a, e, p)
	t.put(a)
	t.latest[originKey(e.Origin, p.Key)] = id
	return a
}

// applyDeferred applies what operators did to an alarm while it was early,
// now that it is in the table (after its raise, so changes keep order).
func (t *txn) applyDeferred(id string) {
	evs := t.deferredFor(id)
	if len(evs) == 0 {
		return
	}
	t.undefer[id] = true
	delete(t.deferred, id)
	for _, d := range evs {
		t.apply(d)
	}
}

// deferEvent keeps an event acting on an alarm that is not in the table
// yet: an operator acted on an alarm shown early (see provisional), and its
// raise is still in its origin's backlog.
func (t *txn) deferEvent(id string, e event.Event) {
	if len(t.m.deferred)+len(t.deferred) >= maxDeferred {
		t.m.o.Logger.Warn("too many events for alarms not yet arrived; dropped", "alarm", id, "event", e.ID())
		return
	}
	t.deferred[id] = append(t.deferred[id], e)
}

func (t *txn) evidence(a *Alarm, e event.Event, p Payload) {
	if a.Evidence.Snapshot == "" {
		a.Evidence.Snapshot = p.Snapshot
	}
	if a.Evidence.Archive == "" {
		a.Evidence.Archive = p.Archive
		if a.Evidence.Archive == "" && a.Camera != "" && t.m.o.Locate != nil {
			a.Evidence.Archive = t.m.o.Locate(e.Origin, a.Camera, e.Time)
		}
	}
}

// promote turns a held raise into an alarm when its window ends.
func (t *txn) promote(k string, h *held, at time.Time) {
	t.pending[k] = nil
	var p Payload
	if err := json.Unmarshal(h.Raise.Payload, &p); err != nil {
		return
	}
	a := t.open(h.Raise, p, t.severity(p.Type, h.Raise.Severity))
	if a == nil {
		return
	}
	a.Count, a.LastSeen, a.Message, a.Updated = h.Count, h.LastSeen, h.Message, at
	t.change(ChangeRaised, a, at)
	t.applyDeferred(a.ID)
}

func (t *txn) clear(e event.Event, p Payload) {
	at := e.Time
	if p.AlarmID != "" {
		a := t.get(p.AlarmID)
		if a == nil {
			t.deferEvent(p.AlarmID, e)
			return
		}
		if !a.State.Open() {
			return
		}
		a.State, a.Cleared, a.Updated, a.ClearedBy = StateCleared, at, at, p.User
		t.change(ChangeCleared, a, at)
		t.queueDown(e, p, a, ActClear)
		t.noteApplied(e, p)
		return
	}
	k := originKey(e.Origin, p.Key)
	if h := t.heldOf(k); h != nil {
		if at.Before(h.Until) {
			t.pending[k] = nil // it flapped back: the held raise is dropped
			return
		}
		t.promote(k, h, h.Until)
	}
	a := t.latestOf(k)
	if a == nil || !a.State.Open() {
		return
	}
	a.State, a.Cleared, a.Updated = StateCleared, at, at
	t.change(ChangeCleared, a, at)
}

func (t *txn) ack(e event.Event, p Payload) {
	a := t.get(p.AlarmID)
	if a == nil {
		t.deferEvent(p.AlarmID, e)
		return
	}
	if !a.Acked.IsZero() {
		return
	}
	a.Acked, a.Updated, a.AckUser, a.AckComment = e.Time, e.Time, p.User, p.Comment
	if a.State == StateRaised {
		a.State = StateAcknowledged
	}
	t.change(ChangeAcked, a, e.Time)
	t.queueDown(e, p, a, ActAck)
	t.noteApplied(e, p)
}

func (t *txn) escalate(e event.Event, p Payload) {
	a := t.get(p.AlarmID)
	if a == nil {
		t.deferEvent(p.AlarmID, e)
		return
	}
	if p.Level <= a.Escalations {
		return // escalated here and by a parent alike: the first one counts
	}
	sev, err := ParseSeverity(string(e.Severity))
	if err != nil {
		return
	}
	a.Escalations, a.Severity, a.Escalated, a.Updated = p.Level, sev, e.Time, e.Time
	if p.From == event.SeverityGrave {
		a.Final = true
	}
	t.change(ChangeEscalated, a, e.Time)
}

// timers promotes held raises whose window ended, escalates alarms nobody
// acknowledged in time and prunes old cleared alarms.
func (m *Manager) timers() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(); err != nil {
		m.o.Logger.Error("apply alarm events", "err", err)
		return // timers act on a table that has caught up, never on a stale one
	}
	now := m.o.Now()
	t := m.newTxn()
	for k, h := range m.pending {
		if !now.Before(h.Until) {
			c := *h
			t.promote(k, &c, now)
		}
	}
	if now.Sub(m.lastPrune) >= time.Minute {
		m.lastPrune = now
		for id, a := range m.alarms {
			if a.State == StateCleared && now.Sub(a.Cleared) > m.o.Keep {
				t.deleted[id] = true
				if k := originKey(a.Origin, a.Key); m.latest[k] == id {
					t.latest[k] = ""
				}
			}
		}
		for id, evs := range m.deferred {
			if now.Sub(evs[len(evs)-1].Time) > m.o.Keep {
				t.undefer[id] = true // its alarm never came
			}
		}
	}
	if err := t.commit(); err != nil {
		m.o.Logger.Error("promote held alarms", "err", err)
	}

	escalatedAny := false
	for _, a := range m.alarms {
		limit := m.o.Rules.Escalate[a.Severity]
		if !a.State.Open() || !a.Acked.IsZero() || a.Final || limit <= 0 {
			continue
		}
		since := a.Raised
		if !a.Escalated.IsZero() {
			since = a.Escalated
		}
		if now.Sub(since) < limit {
			continue
		}
		next := escalated(a.Severity)
		msg := fmt.Sprintf("not acknowledged within %v: escalated from %s to %s: %s", limit, a.Severity, next, a.Message)
		if a.Severity == event.SeverityGrave {
			msg = fmt.Sprintf("grave alarm not acknowledged within %v: escalated: %s", limit, a.Message)
		}
		e := event.New(KindEscalated, a.Camera, next, Payload{Key: a.Key, Type: a.Type, Message: msg,
			AlarmID: a.ID, Level: a.Escalations + 1, From: a.Severity})
		e.Time = now
		if _, err := m.o.Log.Append(e); err != nil {
			m.o.Logger.Error("store alarm escalation", "id", a.ID, "err", err)
			continue
		}
		escalatedAny = true
	}
	if escalatedAny {
		if err := m.syncLocked(); err != nil {
			m.o.Logger.Error("apply alarm escalations", "err", err)
		}
	}
	m.updateGauges()
}

func (m *Manager) updateGauges() {
	open := map[event.Severity]float64{event.SeverityGrave: 0, event.SeverityMedium: 0, event.SeverityMinor: 0}
	unacked := map[event.Severity]float64{event.SeverityGrave: 0, event.SeverityMedium: 0, event.SeverityMinor: 0}
	for _, a := range m.alarms {
		if a.State.Open() {
			open[a.Severity]++
			if a.Acked.IsZero() {
				unacked[a.Severity]++
			}
		}
	}
	for s, n := range open {
		m.metrics.open.WithLabelValues(string(s)).Set(n)
		m.metrics.unacked.WithLabelValues(string(s)).Set(unacked[s])
	}
}

// Raise stores a raise in the log and applies it; it returns the alarm
// that now stands for the condition (none when it was held back) and what
// the raise did.
func (m *Manager) Raise(c Condition) (Alarm, Outcome, error) {
	if strings.TrimSpace(c.Key) == "" || strings.TrimSpace(c.Type) == "" {
		return Alarm{}, "", fmt.Errorf("%w: an alarm needs a key and a type", ErrInvalid)
	}
	if _, err := ParseSeverity(string(c.Severity)); err != nil {
		return Alarm{}, "", err
	}
	e := event.New(event.KindAlarmRaised, c.Camera, c.Severity, Payload{Key: c.Key, Type: c.Type,
		Message: c.Message, Snapshot: c.Snapshot, Archive: c.Archive})
	e.Time = m.o.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, err := m.o.Log.Append(e)
	if err != nil {
		return Alarm{}, "", fmt.Errorf("store alarm %s: %w", c.Key, err)
	}
	if err := m.syncLocked(); err != nil {
		return Alarm{}, "", err
	}
	oc := m.outcomes[stored.Pos]
	if id := m.latest[originKey(stored.Origin, c.Key)]; id != "" && oc != OutcomeSuppressed {
		return *m.alarms[id], oc, nil
	}
	return Alarm{}, oc, nil
}

func checkOperator(user, comment string) error {
	switch {
	case strings.TrimSpace(user) == "":
		return fmt.Errorf("%w: no user", ErrInvalid)
	case len(user) > maxUser || !utf8.ValidString(user):
		return fmt.Errorf("%w: user name longer than %d bytes or not UTF-8", ErrInvalid, maxUser)
	case len(comment) > maxComment || !utf8.ValidString(comment):
		return fmt.Errorf("%w: comment longer than %d bytes or not UTF-8", ErrInvalid, maxComment)
	}
	return nil
}

// Ack acknowledges an alarm for user. The acknowledgement is an event in
// the log; OnAck is called once it is stored.
func (m *Manager) Ack(id, user, comment string) (Alarm, error) {
	return m.AckBy(id, Operator{User: user}, comment)
}

// Clear clears an alarm for user, whether or not its condition is over.
func (m *Manager) Clear(id, user string) (Alarm, error) {
	return m.ClearBy(id, Operator{User: user})
}

// AckBy acknowledges an alarm for an operator (see Ack); their role goes
// with the act to the alarm's origin when that is another node.
func (m *Manager) AckBy(id string, op Operator, comment string) (Alarm, error) {
	user := op.User
	if err := checkOperator(user, comment); err != nil {
		return Alarm{}, err
	}
	a, err := m.act(id, func(a *Alarm) (event.Event, error) {
		if !a.Acked.IsZero() {
			return event.Event{}, fmt.Errorf("%w: alarm %s was acknowledged by %s at %s", ErrConflict, id,
				a.AckUser, a.Acked.Format(time.RFC3339))
		}
		msg := "acknowledged by " + user
		if comment != "" {
			msg += ": " + comment
		}
		return event.New(KindAcked, a.Camera, a.Severity, Payload{Key: a.Key, Type: a.Type, Message: msg,
			AlarmID: id, User: user, Role: op.Role, Comment: comment}), nil
	})
	if err == nil && m.o.OnAck != nil {
		m.o.OnAck(user, id, comment)
	}
	return a, err
}

// ClearBy clears an alarm for an operator (see Clear, AckBy).
func (m *Manager) ClearBy(id string, op Operator) (Alarm, error) {
	user := op.User
	if err := checkOperator(user, ""); err != nil {
		return Alarm{}, err
	}
	a, err := m.act(id, func(a *Alarm) (event.Event, error) {
		if !a.State.Open() {
			return event.Event{}, fmt.Errorf("%w: alarm %s cleared at %s", ErrConflict, id, a.Cleared.Format(time.RFC3339))
		}
		if a.Provisional && a.Suppressed > 0 {
			// a clear now would reach the table before the recurrence,
			// which would then re-open the alarm anyway
			return event.Event{}, fmt.Errorf("%w: alarm %s was raised again at %s, which has not arrived in order yet; clear it once it has",
				ErrConflict, id, a.LastSeen.Format(time.RFC3339))
		}
		return event.New(event.KindAlarmCleared, a.Camera, event.SeverityInfo, Payload{Key: a.Key, Type: a.Type,
			Message: "cleared by " + user, AlarmID: id, User: user, Role: op.Role}), nil
	})
	if err != nil {
		return a, err
	}
	return m.raiseIfPersists(a), nil
}

// raiseIfPersists raises an alarm of this node that an operator cleared
// again when its condition still holds: a clear acknowledges that someone
// saw it, not that it is over. Within the suppression window the raise
// re-opens the same alarm. It returns the alarm as it now stands.
func (m *Manager) raiseIfPersists(a Alarm) Alarm {
	if a.Origin != m.node || m.o.Persists == nil || !m.o.Persists(a) {
		return a
	}
	msg := a.Message
	if !strings.HasPrefix(msg, "still: ") {
		msg = "still: " + msg
	}
	again, _, err := m.Raise(Condition{Key: a.Key, Type: a.Type, Camera: a.Camera, Severity: a.Initial, Message: msg,
		Snapshot: a.Evidence.Snapshot, Archive: a.Evidence.Archive})
	if err != nil {
		m.o.Logger.Error("raise an alarm whose condition persists after its clear", "alarm", a.ID, "err", err)
		return a
	}
	if again.ID == "" {
		return a
	}
	return again
}

// act checks an alarm, stores the event build makes of it and applies it.
func (m *Manager) act(id string, build func(*Alarm) (event.Event, error)) (Alarm, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncLocked(); err != nil {
		return Alarm{}, err
	}
	a, ok := m.lookup(id)
	if !ok {
		return Alarm{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	e, err := build(a)
	if err != nil {
		return Alarm{}, err
	}
	e.Time = m.o.Now()
	if _, err := m.o.Log.Append(e); err != nil {
		return Alarm{}, fmt.Errorf("store %s of alarm %s: %w", e.Kind, id, err)
	}
	if err := m.syncLocked(); err != nil {
		return Alarm{}, err
	}
	if a, ok := m.lookup(id); ok {
		return *a, nil
	}
	return Alarm{}, fmt.Errorf("%w: %q", ErrNotFound, id)
}

// catchUp applies what the log holds before answering a reader, so that
// whoever just stored an alarm event reads its effect; a failure is logged
// and the table answers as it stands.
func (m *Manager) catchUp() {
	if err := m.syncLocked(); err != nil {
		m.o.Logger.Error("apply alarm events", "err", err)
	}
}

// provisionalLocked builds the alarms whose raise reached this node ahead
// of its origin's ordered stream, as the table will hold them once it
// arrives (operators' deferred actions included). A raise the table will
// count as a repeat or hold back shows nothing early.
func (m *Manager) provisionalLocked() map[string]*Alarm {
	evs, err := m.o.Log.UrgentEvents()
	if err != nil {
		m.o.Logger.Error("read early alarms", "err", err)
		return nil
	}
	out := map[string]*Alarm{}
	scratch := m.newTxn() // never committed
	for _, e := range evs {
		if e.Kind != event.KindAlarmRaised {
			continue
		}
		var p Payload
		if json.Unmarshal(e.Payload, &p) != nil || p.Key == "" {
			continue
		}
		id := alarmID(e.Origin, p.Key, e.Seq)
		k := originKey(e.Origin, p.Key)
		if _, ok := m.alarms[id]; ok {
			continue
		}
		if _, ok := m.pending[k]; ok {
			continue
		}
		if l := m.alarms[m.latest[k]]; l != nil && l.State.Open() {
			continue
		} else if l != nil && m.o.Rules.recurs(l, e.Time) {
			// the table will re-open the cleared alarm: show it so now
			if _, shown := out[l.ID]; !shown {
				a := scratch.get(l.ID)
				scratch.reopen(a, e, p, scratch.severity(p.Type, e.Severity))
				a.Provisional = true
				out[l.ID] = a
			}
			continue
		}
		if a := scratch.open(e, p, scratch.severity(p.Type, e.Severity)); a != nil {
			scratch.applyDeferred(id)
			a = scratch.get(id)
			a.Provisional = true
			out[id] = a
		}
	}
	return out
}

// lookup finds an alarm in the table or among the early ones; a cleared
// alarm that an early recurrence re-opens is shown re-opened.
func (m *Manager) lookup(id string) (*Alarm, bool) {
	a, ok := m.alarms[id]
	if ok && a.State.Open() {
		return a, true
	}
	if p, early := m.provisionalLocked()[id]; early {
		return p, true
	}
	return a, ok
}

// Get returns one alarm.
func (m *Manager) Get(id string) (Alarm, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catchUp()
	a, ok := m.lookup(id)
	if !ok {
		return Alarm{}, false
	}
	return *a, true
}

// Active reports whether origin's condition key has an open alarm.
func (m *Manager) Active(origin, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catchUp()
	a, ok := m.alarms[m.latest[originKey(origin, key)]]
	return ok && a.State.Open()
}

// List returns the alarms f selects, grave first, newest first within a
// severity.
func (m *Manager) List(f Filter) []Alarm {
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	m.mu.Lock()
	m.catchUp()
	out := []Alarm{}
	early := m.provisionalLocked()
	for id, a := range m.alarms {
		if _, reopened := early[id]; !reopened && f.match(a) {
			out = append(out, *a)
		}
	}
	for _, a := range early {
		if f.match(a) {
			out = append(out, *a)
		}
	}
	m.mu.Unlock()
	sortAlarms(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
