package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// pendingFor is how long the index keeps a token presented at an entry
// that no vehicle took.
const pendingFor = time.Hour

// applyPass files one token, case, exit or barrier event. Each is the
// node's own word about its own tokens, cases, visits and barriers: an
// event about another node's (a case or visit named for another origin) is
// not filed.
func applyPass(tx *bolt.Tx, e event.Event) error {
	switch e.Kind {
	case KindTokenPresented, KindTokenBound, KindTokenMatched, KindTokenBlocked, KindTokenUnblocked:
		var ts TokenStep
		if json.Unmarshal(e.Payload, &ts) != nil || ts.Token == "" {
			return nil
		}
		return applyToken(tx, e, ts)
	case KindCaseOpened, KindCaseAttempt:
		var cs CaseStep
		if json.Unmarshal(e.Payload, &cs) != nil || cs.Token == "" {
			return nil
		}
		return applyCase(tx, e, cs)
	case KindExitGranted:
		var g Grant
		if json.Unmarshal(e.Payload, &g) != nil || !ownedBy(g.Visit, e.Origin) || !validParty(g.Party) {
			return nil
		}
		return updateVisit(tx, g.Visit, func(v *Visit) bool {
			if _, ok := v.Exit[g.Party]; ok {
				return false // the first permission stands
			}
			if v.Exit == nil {
				v.Exit = map[string]Grant{}
			}
			v.Exit[g.Party] = g
			return true
		})
	case KindBarrierOpened, KindBarrierRefused, KindBarrierFailed:
		var bs BarrierStep
		if json.Unmarshal(e.Payload, &bs) != nil || bs.Barrier == "" {
			return nil
		}
		return applyBarrier(tx, e, bs)
	}
	return nil
}

// ownAlarms are the alarm types this package raises: what the node raised
// of them is marked in the index from its own alarm events, so that a lost
// index is rebuilt without raising them again.
var ownAlarms = map[string]bool{AlarmDwellExceeded: true, AlarmForbiddenZone: true, AlarmAbsence: true,
	AlarmWrongDirection: true, AlarmLaneDivider: true, AlarmTokenBlocked: true, AlarmBarrierUnreachable: true, AlarmReaderSilent: true}

// applyAlarm marks one of the node's own raises, and unmarks what the node
// cleared itself (a vehicle that moved on, a controller back). An
// operator's clear leaves the mark: what was raised once for a vehicle or a
// device is not raised again while the same condition lasts.
func applyAlarm(tx *bolt.Tx, e event.Event) error {
	var a struct {
		event.Alarm
		User string `json:"user"`
	}
	if json.Unmarshal(e.Payload, &a) != nil || !ownAlarms[a.Type] || a.Key == "" {
		return nil
	}
	if e.Kind == event.KindAlarmRaised {
		return tx.Bucket(bucketAlarms).Put([]byte(a.Key), nil)
	}
	if a.User != "" {
		return nil
	}
	return tx.Bucket(bucketAlarms).Delete([]byte(a.Key))
}

func investigationMark(caseID string) string { return "investigation:" + caseID }

// ownedBy reports whether an ID (a visit's or a case's: the ID of an event)
// is one of origin's.
func ownedBy(id, origin string) bool { return strings.HasPrefix(id, origin+"/") }

func validParty(p string) bool { return p == PartyCustoms || p == PartyOwner }

func applyToken(tx *bolt.Tx, e event.Event, ts TokenStep) error {
	key := siteKey(e.Origin, ts.Token)
	var t Token
	if _, err := getJSON(tx.Bucket(bucketTokens), key, &t); err != nil {
		return err
	}
	t.Site, t.Token = e.Origin, ts.Token
	switch e.Kind {
	case KindTokenPresented:
		pending := tx.Bucket(bucketPending)
		if err := prunePending(pending, e.Origin, ts.Time.Add(-pendingFor)); err != nil {
			return err
		}
		k := append(siteKey(e.Origin, ts.Zone), 0)
		k = append(k, timeKey(ts.Time, e.ID())...)
		return putJSON(pending, k, Presentation{ts, e.ID()})
	case KindTokenBound:
		if !ownedBy(ts.Visit, e.Origin) {
			return nil
		}
		// a new binding starts clean: a case of the card's last vehicle
		// stays in the queue but no longer holds the card
		t.Visit, t.Bound, t.BoundAt, t.Case = ts.Visit, ts.Plates, ts.Time, ""
		if err := dropPending(tx.Bucket(bucketPending), e.Origin, ts.Token); err != nil {
			return err
		}
		if err := updateVisit(tx, ts.Visit, func(v *Visit) bool { v.Token = ts.Token; return true }); err != nil {
			return err
		}
	case KindTokenMatched:
		return nil
	case KindTokenBlocked:
		t.Blocked, t.Case = true, ts.Case
		if err := tx.Bucket(bucketAlarms).Put([]byte(investigationMark(ts.Case)), nil); err != nil {
			return err
		}
		if ts.Case != "" && ownedBy(ts.Case, e.Origin) {
			if err := updateCase(tx, ts.Case, func(c *Case) { c.State = CaseBlocked }); err != nil {
				return err
			}
		}
	case KindTokenUnblocked:
		if t.Case != "" {
			u := &Unblock{User: ts.User, Reason: ts.Reason, Time: ts.Time}
			if err := updateCase(tx, t.Case, func(c *Case) { c.Unblocked = u }); err != nil {
				return err
			}
		}
		t.Blocked, t.Case = false, ""
	}
	return putJSON(tx.Bucket(bucketTokens), key, t)
}

func applyCase(tx *bolt.Tx, e event.Event, cs CaseStep) error {
	cases := tx.Bucket(bucketCases)
	switch e.Kind {
	case KindCaseOpened:
		id := e.ID()
		c := Case{ID: id, Site: e.Origin, Token: cs.Token, Visit: cs.Visit, Reader: cs.Reader, Zone: cs.Zone,
			Bound: cs.Bound, Read: cs.Read, Sighting: cs.Sighting, Opened: cs.Time, Attempts: []Attempt{}, State: CaseOpen}
		if err := putJSON(cases, []byte(id), c); err != nil {
			return err
		}
		return updateToken(tx, e.Origin, cs.Token, func(t *Token) { t.Case = id })
	case KindCaseAttempt:
		if cs.Attempt == nil || !ownedBy(cs.Case, e.Origin) {
			return nil
		}
		var c Case
		ok, err := getJSON(cases, []byte(cs.Case), &c)
		if err != nil || !ok || c.State != CaseOpen || cs.Attempt.N != len(c.Attempts)+1 {
			return err // an attempt on a case settled, or one filed already
		}
		a := *cs.Attempt
		c.Attempts = append(c.Attempts, a)
		switch {
		case a.OK:
			c.State = CaseResolved
			if err := updateToken(tx, e.Origin, c.Token, func(t *Token) { t.Case = "" }); err != nil {
				return err
			}
		case a.N >= cs.maxAttempts():
			// the last try failed: the token is blocked from this event
			// on, whether or not the token.blocked that follows is stored
			c.State = CaseBlocked
			if err := updateToken(tx, e.Origin, c.Token, func(t *Token) { t.Blocked, t.Case = true, c.ID }); err != nil {
				return err
			}
		}
		return putJSON(cases, []byte(c.ID), c)
	}
	return nil
}

func applyBarrier(tx *bolt.Tx, e event.Event, bs BarrierStep) error {
	key := siteKey(e.Origin, bs.Barrier)
	b := tx.Bucket(bucketBarriers)
	var st BarrierState
	if _, err := getJSON(b, key, &st); err != nil {
		return err
	}
	st.Site, st.ID = e.Origin, bs.Barrier
	if bs.Zone != "" {
		st.Zone = bs.Zone
	}
	switch e.Kind {
	case KindBarrierOpened:
		t := bs.Time
		st.State, st.LastOpened, st.Manual, st.Missing, st.Why = BarrierOpened, &t, bs.Manual, nil, ""
		if bs.Manual && bs.Visit == "" {
			st.Visit, st.Read = "", Plates{}
		} else {
			st.Visit, st.Read = bs.Visit, bs.Read
		}
	case KindBarrierRefused:
		st.State, st.Visit, st.Read, st.Missing, st.Why = BarrierWaiting, bs.Visit, bs.Read, bs.Missing, bs.Why
	case KindBarrierFailed:
		st.State, st.Why = BarrierFailed, bs.Why
		if bs.Visit != "" {
			st.Visit, st.Read = bs.Visit, bs.Read
		}
	}
	st.Since = bs.Time
	return putJSON(b, key, st)
}

// Attempts is how many tries an operator has on a case (UA-3.2).
const Attempts = 3

// maxAttempts is the number of tries of the case's site; the attempt
// carries it, so that the index at a centre blocks where the site did.
func (cs CaseStep) maxAttempts() int {
	if cs.Attempt != nil && cs.Attempt.Of > 0 {
		return cs.Attempt.Of
	}
	return Attempts
}

func updateVisit(tx *bolt.Tx, id string, fn func(*Visit) bool) error {
	visits := tx.Bucket(bucketVisits)
	var v Visit
	ok, err := getJSON(visits, []byte(id), &v)
	if err != nil || !ok || !fn(&v) {
		return err
	}
	return putJSON(visits, []byte(id), v)
}

func updateCase(tx *bolt.Tx, id string, fn func(*Case)) error {
	cases := tx.Bucket(bucketCases)
	var c Case
	ok, err := getJSON(cases, []byte(id), &c)
	if err != nil || !ok {
		return err
	}
	fn(&c)
	return putJSON(cases, []byte(id), c)
}

func updateToken(tx *bolt.Tx, site, token string, fn func(*Token)) error {
	tokens := tx.Bucket(bucketTokens)
	key := siteKey(site, token)
	t := Token{Site: site, Token: token}
	if _, err := getJSON(tokens, key, &t); err != nil {
		return err
	}
	fn(&t)
	return putJSON(tokens, key, t)
}

// prunePending drops a site's presentations older than before.
func prunePending(b *bolt.Bucket, site string, before time.Time) error {
	return deletePending(b, site, func(ts TokenStep) bool { return ts.Time.Before(before) })
}

// dropPending drops a site's presentations of token.
func dropPending(b *bolt.Bucket, site, token string) error {
	return deletePending(b, site, func(ts TokenStep) bool { return ts.Token == token })
}

func deletePending(b *bolt.Bucket, site string, drop func(TokenStep) bool) error {
	prefix := append([]byte(site), 0)
	var gone [][]byte
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var ts TokenStep
		if json.Unmarshal(v, &ts) != nil || drop(ts) {
			gone = append(gone, append([]byte(nil), k...))
		}
	}
	for _, k := range gone {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Presentation is a token presented at an entry reader, waiting for the
// vehicle's plates.
type Presentation struct {
	TokenStep
	Event string `json:"event"` // the token.presented event
}

// Pending returns the site's presentations at zone since from, oldest
// first.
func (x *Index) Pending(site, zone string, from time.Time) ([]Presentation, error) {
	var out []Presentation
	err := x.db.View(func(tx *bolt.Tx) error {
		prefix := append(siteKey(site, zone), 0)
		c := tx.Bucket(bucketPending).Cursor()
		for k, v := c.Seek(append(prefix, u64(uint64(from.UnixNano()))...)); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p Presentation
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("pending token %q: %w", k, err)
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// lookup reads one record of a bucket (ok false: none).
func lookup[T any](x *Index, bucket, key []byte) (T, bool, error) {
	var v T
	var ok bool
	err := x.db.View(func(tx *bolt.Tx) error {
		var err error
		ok, err = getJSON(tx.Bucket(bucket), key, &v)
		return err
	})
	return v, ok, err
}

// TokenOf returns a site's token.
func (x *Index) TokenOf(site, token string) (Token, bool, error) {
	return lookup[Token](x, bucketTokens, siteKey(site, token))
}

// Visit returns one visit.
func (x *Index) Visit(id string) (Visit, bool, error) {
	return lookup[Visit](x, bucketVisits, []byte(id))
}

// CaseOf returns one case.
func (x *Index) CaseOf(id string) (Case, bool, error) {
	return lookup[Case](x, bucketCases, []byte(id))
}

// Cases returns the cases (of site and in state, if given), newest first,
// at most limit.
func (x *Index) Cases(site, state string, limit int) ([]Case, error) {
	var out []Case
	err := x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
			var c Case
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("case %s: %w", k, err)
			}
			if (site == "" || c.Site == site) && (state == "" || c.State == state) {
				out = append(out, c)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Opened.After(out[j].Opened) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// Barriers returns the barriers the log has spoken of (of site, if
// given).
func (x *Index) Barriers(site string) ([]BarrierState, error) {
	var out []BarrierState
	err := x.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBarriers).ForEach(func(k, v []byte) error {
			var b BarrierState
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("barrier %q: %w", k, err)
			}
			if site == "" || b.Site == site {
				out = append(out, b)
			}
			return nil
		})
	})
	return out, err
}

// BarrierOf returns one of a site's barriers (ok false: never spoken of).
func (x *Index) BarrierOf(site, id string) (BarrierState, bool, error) {
	return lookup[BarrierState](x, bucketBarriers, siteKey(site, id))
}

func siteKey(site, id string) []byte { return append(append([]byte(site), 0), id...) }

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("index entry %q: %w", key, err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}
