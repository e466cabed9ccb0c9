package checkpoint

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates/camevents"
)

// Reader is a card or ticket reader at a zone.
type Reader struct {
	ID   string
	Zone string
	// MaxSilence: a reader that sends heartbeats and has not been heard
	// this long raises reader_silent (0: it is not watched).
	MaxSilence time.Duration
	// Gate admits its messages: its token and addresses.
	Gate camevents.Gate
}

// Barrier is a barrier at a zone and the controller that opens it.
type Barrier struct {
	ID         string
	Zone       string
	Controller Controller
}

// Controller is a barrier's relay box.
type Controller interface {
	// Open commands the barrier to open; an error leaves it shut.
	Open(ctx context.Context, c Command) error
}

// Command is what a barrier's controller is told.
type Command struct {
	Barrier string `json:"barrier"`
	Action  string `json:"action"` // open
	Visit   string `json:"visit,omitempty"`
	Plates  Plates `json:"plates"`
	Manual  bool   `json:"manual,omitempty"`
}

// DeskConfig is a site's pass and barrier set-up.
type DeskConfig struct {
	Readers  []Reader
	Barriers []Barrier
	// Parties maps a principal (user name, or token:NAME) to the party
	// it grants exits for: customs or owner.
	Parties map[string]string
	// BindWindow: how far apart in time a token presented at the entry and
	// the vehicle's plates read there may be (default 2 min).
	BindWindow time.Duration
	// MatchWindow: how old a read at a zone may be to be checked against a
	// token presented there (default 2 min).
	MatchWindow time.Duration
	// Attempts an operator has on a case (default 3).
	Attempts int
	// ZoneKind gives a zone's kind (ok false: no such zone).
	ZoneKind func(zone string) (kind string, ok bool)
	// Severity is the node's severity rule for an alarm type.
	Severity func(alarmType string) event.Severity
	// CommandTimeout bounds a barrier command (default 3 s).
	CommandTimeout time.Duration
	// CheckEvery: how often silent readers and failed barriers are looked
	// at (default 5 s).
	CheckEvery time.Duration
	Now        func() time.Time
	// Audit records what a barrier did on its own: each opening, each
	// vehicle held, each command its controller did not take (nil: none).
	Audit func(action, object, detail string)
}

// Desk is a site's pass tokens and exit barriers: it decides on what
// readers, operators and the parties' systems say, and on the visits the
// tracker files, one thing at a time. Everything it decides is an event
// first; its state is the index's, rebuilt from the log.
type Desk struct {
	mu       sync.Mutex
	log      *event.Log
	idx      *Index
	site     string
	cfg      DeskConfig
	readers  map[string]Reader
	barriers map[string]Barrier
	atZone   map[string]Barrier // the barrier of a zone
	heard    map[string]time.Time
}

// NewDesk makes the desk of the node that owns log; idx is its visit index.
func NewDesk(log *event.Log, idx *Index, cfg DeskConfig) (*Desk, error) {
	if cfg.BindWindow <= 0 {
		cfg.BindWindow = 2 * time.Minute
	}
	if cfg.MatchWindow <= 0 {
		cfg.MatchWindow = 2 * time.Minute
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = Attempts
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 3 * time.Second
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ZoneKind == nil {
		cfg.ZoneKind = func(string) (string, bool) { return "", false }
	}
	d := &Desk{log: log, idx: idx, site: log.Origin(), cfg: cfg, heard: map[string]time.Time{}}
	if err := d.Configure(cfg.Readers, cfg.Barriers, cfg.Parties); err != nil {
		return nil, err
	}
	return d, nil
}

// Configure replaces the site's readers, barriers and exit parties (the
// site's file and the catalogue's zones change them while it runs). A
// set-up with an error changes nothing.
func (d *Desk) Configure(readers []Reader, barriers []Barrier, parties map[string]string) error {
	rs, bs, at := map[string]Reader{}, map[string]Barrier{}, map[string]Barrier{}
	for _, r := range readers {
		if _, ok := d.cfg.ZoneKind(r.Zone); !ok {
			return fmt.Errorf("reader %s: unknown zone %q", r.ID, r.Zone)
		}
		if _, ok := rs[r.ID]; ok {
			return fmt.Errorf("reader %s: named twice", r.ID)
		}
		rs[r.ID] = r
	}
	for _, b := range barriers {
		if _, ok := d.cfg.ZoneKind(b.Zone); !ok {
			return fmt.Errorf("barrier %s: unknown zone %q", b.ID, b.Zone)
		}
		if o, ok := at[b.Zone]; ok {
			return fmt.Errorf("barrier %s: zone %s has barrier %s already", b.ID, b.Zone, o.ID)
		}
		if _, ok := bs[b.ID]; ok {
			return fmt.Errorf("barrier %s: named twice", b.ID)
		}
		if b.Controller == nil {
			return fmt.Errorf("barrier %s: no controller", b.ID)
		}
		bs[b.ID], at[b.Zone] = b, b
	}
	ps := map[string]string{}
	for p, party := range parties {
		if !validParty(party) {
			return fmt.Errorf("%s: party %q must be customs or owner", p, party)
		}
		ps[p] = party
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	for id := range rs {
		if _, ok := d.heard[id]; !ok {
			d.heard[id] = now // a reader is given its silence from when it is known
		}
	}
	d.readers, d.barriers, d.atZone, d.cfg.Parties = rs, bs, at, ps
	return nil
}

// Gate is a reader's gate: its token and the addresses it posts from.
func (d *Desk) Gate(reader string) (camevents.Gate, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.readers[reader]
	return r.Gate, ok
}

// PartyOf is the party a principal grants exits for ("" none).
func (d *Desk) PartyOf(principal string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg.Parties[principal]
}

// Refusal is a request the desk did not take: nothing changed.
type Refusal struct {
	Status int
	Msg    string
}

func (r *Refusal) Error() string { return r.Msg }

func refuse(status int, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// Results of a token presented at a reader.
const (
	ResultBound    = "bound"    // at the entry: bound to the vehicle read there
	ResultPending  = "pending"  // at the entry: waits for the vehicle's plates
	ResultMatch    = "match"    // the plates read at the zone are the token's
	ResultMismatch = "mismatch" // they are not: a case for the zone's operator
)

// Presented is the answer to a token presented at a reader.
type Presented struct {
	Result string `json:"result"`
	Token  string `json:"token"`
	Reader string `json:"reader"`
	Zone   string `json:"zone"`
	Visit  string `json:"visit,omitempty"`
	Bound  Plates `json:"bound"`
	Read   Plates `json:"read"`
	Case   string `json:"case,omitempty"`
}

// maxToken bounds a token's length.
const maxToken = 64

// CheckToken says what is wrong with a token as a reader sent it.
func CheckToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("token: empty")
	}
	if len(tok) > maxToken {
		return fmt.Errorf("token: longer than %d bytes", maxToken)
	}
	for _, r := range tok {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.:", r)) {
			return fmt.Errorf("token: %q has the character %q; a token is letters, digits, '-', '_', '.' or ':'", tok, r)
		}
	}
	return nil
}

// Heard notes that a reader is alive.
func (d *Desk) Heard(reader string) {
	d.mu.Lock()
	d.heard[reader] = d.cfg.Now()
	d.mu.Unlock()
}

// Present decides on a token presented at a reader: at the entry it binds
// the token to the vehicle read there (or keeps it until the plates are
// read); at any other zone it checks the plates read there against the
// token's, and opens a case when they differ.
func (d *Desk) Present(readerID, token string) (Presented, error) {
	if err := CheckToken(token); err != nil {
		return Presented{}, refuse(http.StatusBadRequest, "%v", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.readers[readerID]
	if !ok {
		return Presented{}, refuse(http.StatusNotFound, "reader: unknown reader %q", readerID)
	}
	now := d.cfg.Now()
	d.heard[readerID] = now
	if err := d.idx.Sync(d.log); err != nil {
		return Presented{}, err
	}
	out := Presented{Token: token, Reader: r.ID, Zone: r.Zone}
	t, known, err := d.idx.TokenOf(d.site, token)
	if err != nil {
		return out, err
	}
	if t.Blocked {
		return out, refuse(http.StatusConflict, "token: %s is blocked (case %s): it must be unblocked before it is used again", token, t.Case)
	}
	var bound *Visit
	if known && t.Visit != "" {
		v, ok, err := d.idx.Visit(t.Visit)
		if err != nil {
			return out, err
		}
		if ok && v.Open() {
			bound = &v
		}
	}
	open, err := d.idx.OpenVisits(d.site)
	if err != nil {
		return out, err
	}
	if kind, _ := d.cfg.ZoneKind(r.Zone); kind == ZoneEntry {
		if bound != nil {
			return out, refuse(http.StatusConflict, "token: %s is already bound to visit %s (%s), which is still on the site", token, bound.ID, plateOf(bound.Tractor, bound.Trailer))
		}
		if v, ok := d.vehicleAt(open, r.Zone, now); ok {
			return d.bind(out, v, now)
		}
		ts := TokenStep{Token: token, Reader: r.ID, Zone: r.Zone, Time: now}
		if err := d.append(KindTokenPresented, "", event.SeverityInfo, ts); err != nil {
			return out, err
		}
		out.Result = ResultPending
		return out, nil
	}
	if bound == nil {
		if known && t.Visit != "" {
			return out, refuse(http.StatusConflict, "token: %s belongs to visit %s, which has left the site", token, t.Visit)
		}
		return out, refuse(http.StatusNotFound, "token: unknown token %s: it was never bound at an entry of this site", token)
	}
	if t.Case != "" {
		return out, refuse(http.StatusConflict, "token: case %s is open for %s: the operator of zone %s settles it", t.Case, token, r.Zone)
	}
	out.Visit, out.Bound = bound.ID, t.Bound
	read, sighting := d.readAt(open, bound.ID, r.Zone, now)
	out.Read = read
	if read.Matches(t.Bound) {
		out.Result = ResultMatch
		ts := TokenStep{Token: token, Reader: r.ID, Zone: r.Zone, Visit: bound.ID, Plates: read, Time: now}
		return out, d.append(KindTokenMatched, "", event.SeverityInfo, ts)
	}
	cs := CaseStep{Token: token, Visit: bound.ID, Reader: r.ID, Zone: r.Zone, Bound: t.Bound, Read: read, Sighting: sighting, Time: now}
	e, err := d.log.Append(event.New(KindCaseOpened, "", event.SeverityMinor, cs))
	if err != nil {
		return out, fmt.Errorf("store case: %w", err)
	}
	out.Result, out.Case = ResultMismatch, e.ID()
	return out, d.idx.Sync(d.log)
}

// bind binds a token to a visit. Called with d.mu held.
func (d *Desk) bind(out Presented, v Visit, now time.Time) (Presented, error) {
	p := Plates{Tractor: v.Tractor, Trailer: v.Trailer}
	ts := TokenStep{Token: out.Token, Reader: out.Reader, Zone: out.Zone, Visit: v.ID, Plates: p, Time: now}
	if err := d.append(KindTokenBound, "", event.SeverityInfo, ts); err != nil {
		return out, err
	}
	out.Result, out.Visit, out.Bound = ResultBound, v.ID, p
	return out, nil
}

// vehicleAt is the open visit without a token whose latest step is at zone,
// read within the bind window of now: the vehicle at the entry's reader.
func (d *Desk) vehicleAt(open []Visit, zone string, now time.Time) (Visit, bool) {
	var best Visit
	found := false
	for _, v := range open {
		n := len(v.Passages)
		if v.Token != "" || n == 0 || v.Passages[n-1].Zone != zone {
			continue
		}
		at := v.Passages[n-1].Time
		if absDur(now.Sub(at)) > d.cfg.BindWindow {
			continue
		}
		if !found || at.After(best.Passages[len(best.Passages)-1].Time) {
			best, found = v, true
		}
	}
	return best, found
}

// readAt is what was read at zone near now: the token's own visit's latest
// step there if it has one, else the latest read there of any vehicle
// (nothing: no read in the window).
func (d *Desk) readAt(open []Visit, visit, zone string, now time.Time) (Plates, string) {
	type read struct {
		p        Plates
		sighting string
		at       time.Time
	}
	var own, other *read
	for _, v := range open {
		for _, p := range v.Passages {
			if p.Zone != zone || absDur(now.Sub(p.Time)) > d.cfg.MatchWindow {
				continue
			}
			r := &read{Plates{p.Tractor, p.Trailer}, p.Sighting, p.Time}
			switch {
			case v.ID == visit:
				if own == nil || r.at.After(own.at) {
					own = r
				}
			case other == nil || r.at.After(other.at):
				other = r
			}
		}
	}
	if own != nil {
		return own.p, own.sighting
	}
	if other != nil {
		return other.p, other.sighting
	}
	return Plates{}, ""
}

// readSince is the latest read at zone after since (for a re-read).
func (d *Desk) readSince(zone string, since time.Time) (Plates, string, time.Time, bool, error) {
	open, err := d.idx.OpenVisits(d.site)
	if err != nil {
		return Plates{}, "", time.Time{}, false, err
	}
	var best Passage
	found := false
	for _, v := range open {
		for _, p := range v.Passages {
			if p.Zone == zone && p.Time.After(since) && (!found || p.Time.After(best.Time)) {
				best, found = p, true
			}
		}
	}
	return Plates{best.Tractor, best.Trailer}, best.Sighting, best.Time, found, nil
}

// append stores one event and indexes it. Called with d.mu held.
func (d *Desk) append(kind, camera string, sev event.Severity, payload any) error {
	if _, err := d.log.Append(event.New(kind, camera, sev, payload)); err != nil {
		return fmt.Errorf("store %s: %w", kind, err)
	}
	return d.idx.Sync(d.log)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
