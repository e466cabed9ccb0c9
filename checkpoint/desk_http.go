package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"

	"github.com/kuzet/kuzet/internal/httpjson"
)

// Audit actions of the checkpoint.
const (
	ActionCaseAttempt     = "case.attempt"
	ActionTokenUnblock    = "token.unblock"
	ActionExitGrant       = "exit.grant"
	ActionBarrierOverride = "barrier.override"
	// ActionBarrierRefused: a request about a barrier or an exit that was
	// refused (a permission for an unknown visit, a duplicate, an override
	// without a reason …).
	ActionBarrierRefused = "barrier.request_refused"
	// ActionReaderRefused: a reader's message that was not taken.
	ActionReaderRefused = "reader.refused"
	// What a barrier did on its own, audited as the system's acts.
	ActionBarrierOpen   = "barrier.open"
	ActionBarrierHeld   = "barrier.held"
	ActionBarrierFailed = "barrier.failed"
)

// DeskHandlers answer the checkpoint's pass and barrier API. Desk is nil
// at a node that runs none (a centre): it then answers the reads from its
// index and refuses the acts with 404.
type DeskHandlers struct {
	Desk  *Desk
	Index *Index
	// User names the authenticated caller ("" unknown); Audit records an
	// act (nil: none).
	User  func(*http.Request) string
	Audit func(r *http.Request, action, object, detail string)
}

func (h DeskHandlers) user(r *http.Request) string {
	if h.User == nil {
		return ""
	}
	return h.User(r)
}

func (h DeskHandlers) audit(r *http.Request, action, object, detail string) {
	if h.Audit != nil {
		h.Audit(r, action, object, detail)
	}
}

// fail answers an error: a Refusal with its status, anything else 500.
func fail(w http.ResponseWriter, err error) {
	var r *Refusal
	if asRefusal(err, &r) {
		httpjson.Error(w, r.Status, r.Msg)
		return
	}
	httpjson.Error(w, http.StatusInternalServerError, err.Error())
}

func asRefusal(err error, r **Refusal) bool { return errors.As(err, r) }

// maxBody bounds the bodies of the checkpoint's requests.
const maxBody = 16 << 10

// decode reads a JSON body into v, naming what is wrong.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return refuse(http.StatusBadRequest, "body: empty; send a JSON object")
		case errors.As(err, &te):
			return refuse(http.StatusBadRequest, "%s: must be a %s", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return refuse(http.StatusBadRequest, "body: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return refuse(http.StatusBadRequest, "body: not JSON: %v", err)
	}
	return nil
}

// readerAuth checks a reader's message: the reader exists, posts from one
// of its addresses (when it lists any) and sends its token.
func (h DeskHandlers) readerAuth(r *http.Request) (string, error) {
	id := r.PathValue("reader")
	if h.Desk == nil {
		return id, refuse(http.StatusNotFound, "this node has no readers")
	}
	g, ok := h.Desk.Gate(id)
	if !ok {
		return id, refuse(http.StatusNotFound, "reader: unknown reader %q", id)
	}
	if src, ok := sourceAddr(r); ok && g.HasAddresses() && !g.Admits(src) {
		return id, refuse(http.StatusForbidden, "reader %s does not post from %s: it posts from the addresses in its from list", id, src)
	}
	tok := bearer(r)
	if tok == "" {
		return id, refuse(http.StatusUnauthorized, "reader %s: no token (send it as Authorization: Bearer)", id)
	}
	if !g.TokenOK(tok) {
		return id, refuse(http.StatusUnauthorized, "reader %s: wrong token", id)
	}
	return id, nil
}

func bearer(r *http.Request) string {
	scheme, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(rest)
}

func sourceAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// Present answers POST /api/v1/readers/{reader}/presentations: a token
// presented at a reader, {"token": "..."}.
func (h DeskHandlers) Present(w http.ResponseWriter, r *http.Request) {
	id, err := h.readerAuth(r)
	if err != nil {
		h.audit(r, ActionReaderRefused, id, err.Error())
		fail(w, err)
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := decode(r, &body); err != nil {
		h.audit(r, ActionReaderRefused, id, err.Error())
		fail(w, err)
		return
	}
	res, err := h.Desk.Present(id, strings.TrimSpace(body.Token))
	if err != nil {
		fail(w, err)
		return
	}
	code := http.StatusOK
	if res.Result == ResultPending {
		code = http.StatusAccepted
	}
	httpjson.Write(w, code, res)
}

// Heartbeat answers POST /api/v1/readers/{reader}/heartbeat.
func (h DeskHandlers) Heartbeat(w http.ResponseWriter, r *http.Request) {
	id, err := h.readerAuth(r)
	if err != nil {
		h.audit(r, ActionReaderRefused, id, err.Error())
		fail(w, err)
		return
	}
	h.Desk.Heard(id)
	w.WriteHeader(http.StatusNoContent)
}

// Cases answers GET /api/v1/cases: the token mismatches (filters site,
// state open | resolved | blocked, limit), newest first.
func (h DeskHandlers) Cases(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "", CaseOpen, CaseResolved, CaseBlocked:
	default:
		httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("state: %q must be open, resolved or blocked", state))
		return
	}
	limit, ok := httpjson.Limit(w, r)
	if !ok {
		return
	}
	cs, err := h.Index.Cases(q.Get("site"), state, limit)
	if err != nil {
		fail(w, err)
		return
	}
	if cs == nil {
		cs = []Case{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"cases": cs})
}

// Attempt answers POST /api/v1/cases/{origin}/{seq}/attempts.
func (h DeskHandlers) Attempt(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("origin") + "/" + r.PathValue("seq")
	if h.Desk == nil {
		fail(w, refuse(http.StatusNotFound, "case: cases are settled at their site"))
		return
	}
	var req AttemptRequest
	if err := decode(r, &req); err != nil {
		fail(w, err)
		return
	}
	c, err := h.Desk.Attempt(id, req, h.user(r))
	if err != nil {
		fail(w, err)
		return
	}
	a := c.Attempts[len(c.Attempts)-1]
	h.audit(r, ActionCaseAttempt, id, fmt.Sprintf("attempt %d of %d on token %s at zone %s: %s %s: %s",
		a.N, a.Of, c.Token, c.Zone, a.Action, a.Read, map[bool]string{true: "matches", false: "does not match " + c.Bound.String()}[a.OK]))
	httpjson.Write(w, http.StatusOK, c)
}

// Unblock answers POST /api/v1/tokens/{token}/unblock, {"reason": "..."}.
func (h DeskHandlers) Unblock(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if h.Desk == nil {
		fail(w, refuse(http.StatusNotFound, "token: tokens are unblocked at their site"))
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	err := decode(r, &body)
	var t Token
	if err == nil {
		t, err = h.Desk.Unblock(tok, h.user(r), body.Reason)
	}
	if err != nil {
		h.audit(r, ActionTokenUnblock, tok, "refused: "+err.Error())
		fail(w, err)
		return
	}
	h.audit(r, ActionTokenUnblock, tok, "unblocked: "+strings.TrimSpace(body.Reason))
	httpjson.Write(w, http.StatusOK, t)
}

// Grant answers POST /api/v1/visits/{origin}/{seq}/exit: the caller's
// party grants the visit's exit.
func (h DeskHandlers) Grant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("origin") + "/" + r.PathValue("seq")
	if h.Desk == nil {
		fail(w, refuse(http.StatusNotFound, "visit: exits are granted at the visit's site"))
		return
	}
	v, err := h.Desk.Grant(id, h.user(r))
	if err != nil {
		h.audit(r, ActionBarrierRefused, id, "exit permission refused: "+err.Error())
		fail(w, err)
		return
	}
	h.audit(r, ActionExitGrant, id, fmt.Sprintf("exit granted for %s as %s", plateOf(v.Tractor, v.Trailer), h.Desk.PartyOf(h.user(r))))
	httpjson.Write(w, http.StatusOK, visitView{v, v.Dwells(h.Desk.cfg.Now())})
}

// Override answers POST /api/v1/barriers/{barrier}/open, {"reason": ...}.
func (h DeskHandlers) Override(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("barrier")
	if h.Desk == nil {
		fail(w, refuse(http.StatusNotFound, "barrier: barriers are opened at their site"))
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	err := decode(r, &body)
	var st BarrierState
	if err == nil {
		st, err = h.Desk.Override(id, h.user(r), body.Reason)
	}
	if err != nil {
		h.audit(r, ActionBarrierRefused, id, "manual opening refused: "+err.Error())
		fail(w, err)
		return
	}
	h.audit(r, ActionBarrierOverride, id, "opened by hand: "+strings.TrimSpace(body.Reason))
	httpjson.Write(w, http.StatusOK, st)
}

// Barriers answers GET /api/v1/barriers: this site's barriers and those of
// its subtree the log has spoken of (filter site), each with its state and
// the permissions it waits for.
func (h DeskHandlers) Barriers(w http.ResponseWriter, r *http.Request) {
	site := r.URL.Query().Get("site")
	known, err := h.Index.Barriers(site)
	if err != nil {
		fail(w, err)
		return
	}
	seen := map[string]bool{}
	for _, b := range known {
		seen[b.Site+"\x00"+b.ID] = true
	}
	if d := h.Desk; d != nil && (site == "" || site == d.site) {
		own, err := d.Barriers()
		if err != nil {
			fail(w, err)
			return
		}
		for _, st := range own {
			if !seen[st.Site+"\x00"+st.ID] {
				known = append(known, st)
			}
		}
	}
	sort.Slice(known, func(i, j int) bool {
		if known[i].Site != known[j].Site {
			return known[i].Site < known[j].Site
		}
		return known[i].ID < known[j].ID
	})
	if known == nil {
		known = []BarrierState{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"barriers": known})
}
