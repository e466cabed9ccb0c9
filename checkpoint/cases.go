package checkpoint

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates/platetext"
)

// AttemptRequest is an operator's try on a case.
type AttemptRequest struct {
	Action  string `json:"action"`            // reread | correct | manual
	Tractor string `json:"tractor,omitempty"` // correct, manual
	Trailer string `json:"trailer,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// Attempt files an operator's try on an open case: a re-read takes the
// newest read at the case's zone, a correction or a manual entry takes the
// plates given. Plates that are the token's settle the case; the last
// failed try blocks the token, raises a grave alarm and makes the case an
// investigation.
func (d *Desk) Attempt(caseID string, req AttemptRequest, user string) (Case, error) {
	if len(req.Comment) > 500 {
		return Case{}, refuse(http.StatusBadRequest, "comment: longer than 500 bytes")
	}
	var read Plates
	switch req.Action {
	case ActionReread:
		if req.Tractor != "" || req.Trailer != "" {
			return Case{}, refuse(http.StatusBadRequest, "tractor, trailer: a re-read takes the plates from the camera, not from the request")
		}
	case ActionCorrect, ActionManual:
		var err error
		if read, err = platesOf(req.Tractor, req.Trailer); err != nil {
			return Case{}, refuse(http.StatusBadRequest, "%v", err)
		}
	default:
		return Case{}, refuse(http.StatusBadRequest, "action: %q must be reread, correct or manual", req.Action)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.idx.Sync(d.log); err != nil {
		return Case{}, err
	}
	c, ok, err := d.idx.CaseOf(caseID)
	if err != nil {
		return c, err
	}
	if !ok || c.Site != d.site {
		return c, refuse(http.StatusNotFound, "case: unknown case %q at this site", caseID)
	}
	if c.State != CaseOpen {
		return c, refuse(http.StatusConflict, "case: %s is %s already", caseID, c.State)
	}
	now := d.cfg.Now()
	a := Attempt{N: len(c.Attempts) + 1, Of: d.cfg.Attempts, Action: req.Action, Read: read, User: user, Comment: req.Comment, Time: now}
	if req.Action == ActionReread {
		since := c.Opened
		for _, p := range c.Attempts {
			if p.Action == ActionReread && p.Time.After(since) {
				since = p.Time
			}
		}
		p, sighting, _, found, err := d.readSince(c.Zone, since)
		if err != nil {
			return c, err
		}
		if !found {
			return c, refuse(http.StatusConflict, "action: nothing has been read at zone %s since %s; have the vehicle read again, or correct or enter the plates (no attempt was used)",
				c.Zone, since.UTC().Format("15:04:05"))
		}
		a.Read, a.Sighting = p, sighting
	}
	a.OK = a.Read.Matches(c.Bound)
	cs := CaseStep{Case: c.ID, Token: c.Token, Visit: c.Visit, Reader: c.Reader, Zone: c.Zone, Bound: c.Bound, Attempt: &a, Time: now}
	if err := d.append(KindCaseAttempt, "", event.SeverityInfo, cs); err != nil {
		return c, err
	}
	if !a.OK && a.N >= a.Of {
		if err := d.block(c.ID); err != nil {
			return c, err
		}
	}
	c, _, err = d.idx.CaseOf(caseID)
	return c, err
}

// block files what follows the last failed attempt of a case, once: the
// token.blocked investigation record and the grave alarm. The index blocks
// the token from the attempt itself; a replay after a kill finishes what
// this began. Called with d.mu held.
func (d *Desk) block(caseID string) error {
	c, ok, err := d.idx.CaseOf(caseID)
	if err != nil || !ok || c.State != CaseBlocked || c.Unblocked != nil {
		return err
	}
	mark := investigationMark(c.ID)
	done, err := d.idx.raised(mark)
	if err != nil {
		return err
	}
	if !done {
		ts := TokenStep{Token: c.Token, Reader: c.Reader, Zone: c.Zone, Visit: c.Visit, Plates: c.Bound, Case: c.ID, Time: d.cfg.Now()}
		if err := d.append(KindTokenBlocked, "", event.SeverityInfo, ts); err != nil {
			return err
		}
		if err := d.idx.markAlarm(mark, true); err != nil {
			return err
		}
	}
	var tries []string
	for _, a := range c.Attempts {
		tries = append(tries, fmt.Sprintf("%s %s", a.Action, a.Read))
	}
	msg := fmt.Sprintf("token %s blocked at zone %s after %d failed attempts (%s); bound to %s; investigation %s opened",
		c.Token, c.Zone, len(c.Attempts), strings.Join(tries, "; "), c.Bound, c.ID)
	return raiseOnce(d.log, d.idx, Site{Severity: d.cfg.Severity}, AlarmTokenBlocked, d.tokenAlarm(c.Token), "", event.SeverityGrave, msg)
}

func (d *Desk) tokenAlarm(token string) string { return AlarmTokenBlocked + ":" + token }

// Unblock unblocks a token; reason is required.
func (d *Desk) Unblock(token, user, reason string) (Token, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Token{}, refuse(http.StatusBadRequest, "reason: say why the token is unblocked")
	}
	if len(reason) > 500 {
		return Token{}, refuse(http.StatusBadRequest, "reason: longer than 500 bytes")
	}
	if err := CheckToken(token); err != nil {
		return Token{}, refuse(http.StatusBadRequest, "%v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.idx.Sync(d.log); err != nil {
		return Token{}, err
	}
	t, ok, err := d.idx.TokenOf(d.site, token)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, refuse(http.StatusNotFound, "token: unknown token %s at this site", token)
	}
	if !t.Blocked {
		return t, refuse(http.StatusConflict, "token: %s is not blocked", token)
	}
	ts := TokenStep{Token: token, Case: t.Case, User: user, Reason: reason, Time: d.cfg.Now()}
	if err := d.append(KindTokenUnblocked, "", event.SeverityInfo, ts); err != nil {
		return t, err
	}
	if err := d.clear(d.tokenAlarm(token), AlarmTokenBlocked, "unblocked by "+user+": "+reason); err != nil {
		return t, err
	}
	t, _, err = d.idx.TokenOf(d.site, token)
	return t, err
}

// clear clears an alarm this node raised, if it stands. Called with d.mu
// held.
func (d *Desk) clear(key, typ, msg string) error {
	raised, err := d.idx.raised(key)
	if err != nil || !raised {
		return err
	}
	if err := appendAlarm(d.log, event.KindAlarmCleared, typ, key, "", event.SeverityInfo, msg); err != nil {
		return err
	}
	return d.idx.markAlarm(key, false)
}

// platesOf checks and normalises plates an operator typed.
func platesOf(tractor, trailer string) (Plates, error) {
	p := Plates{Tractor: norm(tractor), Trailer: norm(trailer)}
	if p.Empty() {
		return p, fmt.Errorf("tractor: give the tractor's plate, the trailer's, or both")
	}
	for _, f := range []struct{ name, v string }{{"tractor", p.Tractor}, {"trailer", p.Trailer}} {
		if len(f.v) > 16 {
			return p, fmt.Errorf("%s: %q is longer than 16 characters", f.name, f.v)
		}
	}
	return p, nil
}

func norm(s string) string { return platetext.Normalize(strings.ToUpper(strings.TrimSpace(s))) }
