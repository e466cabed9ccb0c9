package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
)

// A parent takes from a child only what the child may say: events of its
// own origin and of its descendants in the catalogue. Anything else is
// refused, alarmed naming the child, and never stored, routed or fetched.

// AlarmUnauthorisedOrigin is raised when a child sends events of an origin
// it may not speak for.
const AlarmUnauthorisedOrigin = "unauthorised_origin"

// maySpeak reports why child may not send events of origin ("" if it
// may). A refusal rests on a current catalogue: when the local view says
// no, Confirm brings it up to date first (at most once per confirmAge);
// when that cannot be done now, the error says so and nothing is refused.
func (s *Server) maySpeak(child, origin string) (string, error) {
	switch {
	case origin == s.o.Identity.NodeID:
		return "it is this node's own origin", nil
	case origin == child:
		return "", nil
	case s.o.MaySpeakFor != nil && s.o.MaySpeakFor(child, origin):
		return "", nil
	}
	if err := s.confirm(); err != nil {
		return "", fmt.Errorf("cannot tell now whether %s may send events of %s: %w", child, origin, err)
	}
	if s.o.MaySpeakFor != nil && s.o.MaySpeakFor(child, origin) {
		return "", nil
	}
	return fmt.Sprintf("%s is not %s nor one of its descendants in the catalogue", origin, child), nil
}

// confirmAge is how long a confirmed catalogue answers refusals without
// another round trip: a child that keeps sending what it may not pays
// one confirmation per interval, not one per batch.
const confirmAge = 5 * time.Second

func (s *Server) confirm() error {
	if s.o.Confirm == nil {
		return nil
	}
	s.confirmMu.Lock()
	defer s.confirmMu.Unlock()
	if time.Since(s.confirmedAt) < confirmAge {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.o.Confirm(ctx); err != nil {
		return err
	}
	s.confirmedAt = time.Now()
	return nil
}

// authorise splits a batch into the events child may send and refusals,
// alarming once per child and origin; an error means it cannot tell now.
func (s *Server) authorise(child string, events []event.Event) ([]event.Event, []Refusal, error) {
	ok := events[:0:0]
	var refused []Refusal
	seen := map[string]bool{}
	for _, e := range events {
		why, err := s.maySpeak(child, e.Origin)
		if err != nil {
			return nil, nil, err
		}
		if why != "" {
			if !seen[e.Origin] {
				seen[e.Origin] = true
				refused = append(refused, Refusal{Origin: e.Origin, Reason: why})
				s.refuse(child, e.Origin, why)
			}
			continue
		}
		ok = append(ok, e)
	}
	return ok, refused, nil
}

// refuse counts and alarms a refused origin, once per child and origin
// while this node runs.
func (s *Server) refuse(child, origin, why string) {
	s.o.Metrics.EventsRefused.WithLabelValues(child).Inc()
	s.refusedMu.Lock()
	first := !s.refused[child+"\x00"+origin]
	s.refused[child+"\x00"+origin] = true
	s.refusedMu.Unlock()
	if !first {
		return
	}
	msg := fmt.Sprintf("child %s sent events claiming to be from %s, refused: %s", child, origin, why)
	s.o.Logger.Error("events refused", "child", child, "origin", origin, "reason", why)
	e := event.New(event.KindAlarmRaised, "", event.SeverityGrave,
		event.Alarm{Key: AlarmUnauthorisedOrigin + ":" + child, Type: AlarmUnauthorisedOrigin, Message: msg})
	if _, err := s.o.Log.Append(e); err != nil {
		s.o.Logger.Error("store refusal alarm", "child", child, "err", err)
	}
}

// openKinds bounds what one link may hold open at once: one events and
// one alarms stream. With frames read as their bytes arrive (ReadFrame),
// a child can make this node buffer at most two partial frames of
// MaxControlFrame besides the control stream, whatever it announces.
type openKinds struct {
	mu   sync.Mutex
	open map[string]bool
}

func (k *openKinds) take(kind string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.open[kind] {
		return false
	}
	k.open[kind] = true
	return true
}

func (k *openKinds) release(kind string) {
	k.mu.Lock()
	delete(k.open, kind)
	k.mu.Unlock()
}

// stream serves one stream a child opened: its ordered events or its
// urgent alarms. Each batch is stored, then acknowledged.
func (s *Server) stream(str *quic.Stream, child string, st *ChildStatus, kinds *openKinds) error {
	defer finish(str)
	var open Open
	if err := expectLimit(str, MsgOpen, &open, maxRequestFrame); err != nil {
		return err
	}
	if (open.Kind == StreamEvents || open.Kind == StreamAlarms) && !kinds.take(open.Kind) {
		msg := fmt.Sprintf("a %s stream is already open on this link", open.Kind)
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: msg})
		return &FrameError{msg}
	}
	defer kinds.release(open.Kind)
	switch open.Kind {
	case StreamEvents:
		if err := s.holdings(str, child); err != nil {
			return err
		}
	case StreamAlarms:
	default:
		_ = WriteFrame(str, MsgError, ErrorMsg{Message: fmt.Sprintf("unknown stream kind %q", open.Kind)})
		return fmt.Errorf("unknown stream kind %q", open.Kind)
	}
	for {
		t, payload, err := ReadFrame(str, MaxControlFrame)
		if err != nil {
			return err
		}
		if t != MsgEvents {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: "expected events, got " + t.String()})
			return &FrameError{"expected events, got " + t.String()}
		}
		var batch Events
		if err := json.Unmarshal(payload, &batch); err != nil || len(batch.Events) == 0 {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: "malformed events batch"})
			return &FrameError{fmt.Sprintf("malformed events batch: %v", err)}
		}
		ack := Ack{Through: batch.Events[len(batch.Events)-1].Pos}
		if open.Kind == StreamEvents && len(batch.Dropped) > 0 {
			// only what the child shows it holds beyond counts
			shown := map[string]uint64{}
			for _, e := range batch.Events {
				shown[markKey(e)] = max(shown[markKey(e)], e.Seq)
			}
			for _, d := range batch.Dropped {
				if err := s.forgo(child, d, shown); err != nil {
					_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
					return err
				}
			}
		}
		allowed, refused, err := s.authorise(child, batch.Events)
		if err != nil {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
			return err
		}
		ack.Refused = refused
		if open.Kind == StreamAlarms {
			for _, e := range allowed {
				ok, err := s.o.Log.StoreUrgent(e, child)
				if err != nil {
					_ = WriteFrame(str, MsgError, ErrorMsg{Message: "store failed"})
					return err
				}
				if ok {
					ack.Stored++
					s.o.Metrics.UrgentReceived.WithLabelValues(child).Inc()
				}
			}
			s.heard(st)
			if err := WriteFrame(str, MsgAck, ack); err != nil {
				return err
			}
			continue
		}
		stored, gaps, err := s.o.Log.IngestOrdered(allowed, child)
		if err != nil {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: "store failed"})
			return err
		}
		s.learn(stored, child) // routes only from events that passed the checks
		ack.Stored, ack.Gaps = len(stored), gaps
		if ack.Marks, err = s.marksOf(allowed); err != nil {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: "store unreadable"})
			return err
		}
		s.heard(st)
		s.mu.Lock()
		st.Events += uint64(len(stored))
		s.mu.Unlock()
		s.o.Metrics.EventsReceived.WithLabelValues(child).Add(float64(len(stored)))
		s.o.Metrics.EventsDuplicate.WithLabelValues(child).Add(float64(len(allowed) - len(stored)))
		if len(gaps) > 0 {
			s.o.Metrics.EventGaps.WithLabelValues(child).Add(float64(len(gaps)))
		}
		if err := WriteFrame(str, MsgAck, ack); err != nil {
			return err
		}
	}
}

// holdings answers a child's offer with how far this node holds each
// incarnation it offers, refusing origins it may not speak for.
func (s *Server) holdings(str *quic.Stream, child string) error {
	var offer Offer
	if err := Expect(str, MsgOffer, &offer); err != nil {
		return fmt.Errorf("offer: %w", err)
	}
	var h Holdings
	refused := map[string]bool{}
	offered := map[string]uint64{}
	for _, m := range offer.Marks {
		offered[m.Key()] = m.Seq
	}
	for _, d := range offer.Dropped {
		if err := s.forgo(child, d, offered); err != nil {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
			return err
		}
	}
	for _, m := range offer.Marks {
		why, err := s.maySpeak(child, m.Origin)
		if err != nil {
			_ = WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
			return err
		}
		if why != "" {
			if !refused[m.Origin] {
				refused[m.Origin] = true
				h.Refused = append(h.Refused, Refusal{Origin: m.Origin, Reason: why})
				s.refuse(child, m.Origin, why)
			}
			continue
		}
		held, err := s.o.Log.Held(m.Origin, m.Inc)
		if err != nil {
			return err
		}
		if held == m.Inc {
			if err := s.newIncarnation(child, m); err != nil {
				return err
			}
		}
		h.Marks = append(h.Marks, event.Mark{Origin: m.Origin, Inc: m.Inc, Seq: held})
	}
	return WriteFrame(str, MsgHoldings, h)
}

// forgo takes what a child says it no longer holds (dropped by its
// retention, or forgone from below) as never to arrive, when this node
// lacks it: the child may speak for the origin, and it cannot claim to
// have dropped more than it holds (offered: the highest seq it holds or
// sends, by incarnation).
func (s *Server) forgo(child string, d event.Mark, offered map[string]uint64) error {
	why, err := s.maySpeak(child, d.Origin)
	if err != nil || why != "" {
		return err // refused origins are answered with the marks
	}
	if held, ok := offered[d.Key()]; !ok || d.Seq > held || d.Seq <= d.Inc {
		return nil
	}
	from, forgone, err := s.o.Log.Forgo(d)
	if err != nil || !forgone {
		return err
	}
	s.o.Logger.Warn("events a child no longer holds will never arrive", "child", child,
		"origin", d.Origin, "incarnation", d.Inc, "from", from, "to", d.Seq)
	_, err = s.o.Log.Append(event.New(event.KindForgone, "", event.SeverityMinor,
		event.Forgone{Origin: d.Origin, Inc: d.Inc, From: from, To: d.Seq, Via: child}))
	return err
}

// newIncarnation reports an offered incarnation this node holds nothing
// of when it holds another incarnation of the same origin: that node lost
// its store and started again.
func (s *Server) newIncarnation(child string, m event.Mark) error {
	marks, err := s.o.Log.Marks()
	if err != nil {
		return err
	}
	var prev uint64
	found := false
	for _, o := range marks {
		if o.Origin == m.Origin && o.Inc != m.Inc && o.Inc <= m.Inc {
			prev, found = max(prev, o.Inc), true
		}
	}
	if !found {
		return nil
	}
	s.refusedMu.Lock()
	first := !s.incs[m.Key()]
	s.incs[m.Key()] = true
	s.refusedMu.Unlock()
	if !first {
		return nil
	}
	s.o.Logger.Warn("a node started again with an empty store: new incarnation", "origin", m.Origin, "via", child,
		"incarnation", m.Inc, "previous", prev, "store_created", event.IncarnationTime(m.Inc))
	if s.o.OnIncarnation != nil {
		s.o.OnIncarnation(child, m.Origin, m.Inc, prev)
	}
	return nil
}

// marksOf reads how far this node holds every incarnation in events.
func (s *Server) marksOf(events []event.Event) ([]event.Mark, error) {
	seen := map[string]bool{}
	var out []event.Mark
	for _, e := range events {
		m := event.MarkOf(e)
		if seen[m.Key()] {
			continue
		}
		seen[m.Key()] = true
		held, err := s.o.Log.Held(m.Origin, m.Inc)
		if err != nil {
			return nil, err
		}
		m.Seq = held
		out = append(out, m)
	}
	return out, nil
}
