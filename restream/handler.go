package restream

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/headers"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"

	"github.com/kuzet/kuzet/audit"
)

// realm names the node in Basic challenges.
const realm = "kuzet"

// errRefused ends a connection once its refusal has been answered: each
// wrong guess costs a new connection.
var errRefused = errors.New("reader refused")

// handler receives gortsplib's callbacks, kept out of Server's API.
type handler struct {
	s *Server
}

// connState is what a connection has proved: the credentials it logged in
// with (only their hash), so that the password is checked once per
// connection, not on every request.
type connState struct {
	cred [32]byte
}

// session is a reader playing a camera.
type session struct {
	camera    string
	reader    Reader
	source    netip.Addr
	transport string
	start     time.Time
	ended     string // why the server ended it, if it did (under Server.mu)
}

func remoteAddr(conn *gortsplib.ServerConn) netip.Addr {
	if a, ok := conn.NetConn().RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	ap, _ := netip.ParseAddrPort(conn.NetConn().RemoteAddr().String())
	return ap.Addr().Unmap()
}

func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	h.s.log.Debug("RTSP connection opened", "remote", ctx.Conn.NetConn().RemoteAddr().String())
}

func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	h.s.mu.Lock()
	delete(h.s.conns, ctx.Conn)
	h.s.mu.Unlock()
	h.s.log.Debug("RTSP connection closed", "remote", ctx.Conn.NetConn().RemoteAddr().String(), "error", ctx.Error)
}

// OnSessionClose ends a reader's session: its audit entry says who watched
// which camera, from where, from when, for how long, and how many bytes
// were sent.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s := h.s
	s.mu.Lock()
	se, ok := s.readers[ctx.Session]
	var ended string
	if ok {
		delete(s.readers, ctx.Session)
		s.met.readers.WithLabelValues(se.camera).Dec()
		ended = se.ended
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	d := time.Since(se.start).Round(time.Millisecond)
	sent := ctx.Session.Stats().BytesSent
	why := "closed"
	switch {
	case ended != "":
		why = "disconnected: " + ended
	case ctx.Error != nil:
		why = ctx.Error.Error()
	}
	user := se.reader.User
	if user == "" {
		user = "anonymous"
	}
	s.log.Info("RTSP reader left", "camera", se.camera, "user", user, "remote", se.source, "duration", d, "bytes", sent, "reason", why)
	s.record(audit.Entry{User: user, Role: se.reader.Role, Action: audit.ActionViewLive, Object: se.camera, Source: addrString(se.source),
		Detail: fmt.Sprintf("%s over %s from %s for %s, %d bytes sent; ended: %s",
			s.Scheme(), se.transport, se.start.UTC().Format(time.RFC3339Nano), d, sent, why)})
}

// record writes an audit entry; a failure is logged, since what it
// describes has happened or been refused already.
func (s *Server) record(e audit.Entry) {
	fn := s.audit.Load()
	if fn == nil || *fn == nil {
		return
	}
	if err := (*fn)(e); err != nil {
		s.log.Error("RTSP audit entry not stored", "action", e.Action, "user", e.User, "object", e.Object, "err", err)
	}
}

// admit decides whether a request may go on: the source address, then
// the reader's credentials. A refusal comes with its response and, when
// the connection must end, an error.
func (h *handler) admit(conn *gortsplib.ServerConn, req *base.Request) (Reader, *base.Response, error) {
	s := h.s
	src := remoteAddr(conn)
	if len(s.o.Allow) > 0 && !allowed(s.o.Allow, src) {
		s.log.Warn("RTSP client refused by allow-list", "remote", addrString(src), "method", req.Method)
		return Reader{}, &base.Response{StatusCode: base.StatusForbidden}, errRefused
	}
	switch {
	case s.o.Accounts != nil && s.audit.Load() == nil:
		s.log.Info("RTSP reader turned away: the node is still starting", "remote", addrString(src))
		return Reader{}, &base.Response{StatusCode: base.StatusServiceUnavailable}, nil
	case s.o.Accounts != nil:
		return h.login(conn, req, src)
	case s.o.User != "":
		return h.shared(conn, req, src)
	}
	return Reader{}, nil, nil
}

func challenge(code base.StatusCode) *base.Response {
	return &base.Response{StatusCode: code, Header: base.Header{
		"WWW-Authenticate": headers.Authenticate{Method: headers.AuthMethodBasic, Realm: realm}.Marshal(),
	}}
}

// login authenticates the reader as one of the node's users.
func (h *handler) login(conn *gortsplib.ServerConn, req *base.Request, src netip.Addr) (Reader, *base.Response, error) {
	s := h.s
	var a headers.Authorization
	if err := a.Unmarshal(req.Header["Authorization"]); err != nil || a.Method != headers.AuthMethodBasic || a.Username == "" {
		// no credentials yet (or Digest, which argon2id hashes cannot
		// check): ask for Basic, keeping the connection
		return Reader{}, challenge(base.StatusUnauthorized), nil
	}
	cred := sha256.Sum256([]byte(a.Username + "\x00" + a.BasicPass))
	s.mu.Lock()
	cs := s.conns[conn]
	s.mu.Unlock()
	var rd Reader
	var ref *Refusal
	if cs != nil && cs.cred == cred {
		rd, ref = s.o.Accounts.Recheck(a.Username, src)
	} else {
		rd, ref = s.o.Accounts.Login(a.Username, a.BasicPass, src)
	}
	if ref != nil {
		return Reader{}, h.refuse(a.Username, src, req, ref), errRefused
	}
	s.mu.Lock()
	if s.conns[conn] == nil {
		s.log.Info("RTSP login", "user", rd.User, "role", rd.Role, "remote", addrString(src))
	}
	s.conns[conn] = &connState{cred: cred}
	s.mu.Unlock()
	return rd, nil, nil
}

// refuse logs and audits a refused login and makes its response.
func (h *handler) refuse(user string, src netip.Addr, req *base.Request, ref *Refusal) *base.Response {
	s := h.s
	s.met.refused.WithLabelValues(strconv.Itoa(int(ref.Status))).Inc()
	why := ref.Msg
	if ref.Why != "" {
		why = ref.Why
	}
	if ref.Audit || ref.Status != 429 {
		s.log.Warn("RTSP login refused", "user", user, "remote", addrString(src), "method", req.Method, "reason", why)
	}
	if ref.Audit {
		s.record(audit.Entry{User: user, Role: ref.Role, Action: audit.ActionLoginFailed, Detail: "rtsp: " + why,
			Source: addrString(src)})
	}
	res := &base.Response{StatusCode: ref.Status, Header: base.Header{}}
	switch ref.Status {
	case base.StatusUnauthorized:
		res = challenge(ref.Status)
	case 429:
		res.StatusMessage = "Too Many Requests"
		res.Header["Retry-After"] = base.HeaderValue{strconv.Itoa(int(roundUp(ref.Retry) / time.Second))}
	}
	return res
}

// shared checks the one configured credential (Basic or Digest), with
// failures throttled per source address.
func (h *handler) shared(conn *gortsplib.ServerConn, req *base.Request, src netip.Addr) (Reader, *base.Response, error) {
	s := h.s
	now := time.Now()
	var a headers.Authorization
	given := a.Unmarshal(req.Header["Authorization"]) == nil && a.Username != ""
	if !given {
		// gortsplib answers with the Basic and Digest challenges
		conn.VerifyCredentials(req, s.o.User, s.o.Password) // makes the Digest nonce
		return Reader{}, &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
	}
	if d, first, scope := s.thr.Check(a.Username, src, now); d > 0 {
		return Reader{}, h.refuse(a.Username, src, req, &Refusal{Status: 429, Retry: d, Audit: first,
			Msg: fmt.Sprintf("too many failed logins (%s); retry in %s", scope, roundUp(d))}), errRefused
	}
	if conn.VerifyCredentials(req, s.o.User, s.o.Password) {
		s.thr.Succeed(a.Username, src, now)
		return Reader{User: s.o.User}, nil, nil
	}
	s.thr.Fail(a.Username, src, now, true)
	h.refuse(a.Username, src, req, &Refusal{Status: base.StatusUnauthorized, Msg: "wrong user name or password", Audit: true})
	return Reader{}, &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
}

// find answers for path: the stream, or the response refusing it.
func (h *handler) find(conn *gortsplib.ServerConn, path string) (*gortsplib.ServerStream, *base.Response) {
	cam := strings.Trim(path, "/")
	st, code := h.s.lookup(cam)
	if code != 0 && h.s.o.OnDemand != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := h.s.o.OnDemand(ctx, cam)
		cancel()
		if err == nil {
			st, code = h.s.waitStream(cam, 10*time.Second)
		} else if code == 404 {
			h.s.log.Info("RTSP read of an unknown path", "path", path, "err", err)
		}
	}
	switch code {
	case 0:
		return st.ss, &base.Response{StatusCode: base.StatusOK}
	case 503:
		h.s.log.Info("RTSP read of a camera that is not streaming", "camera", cam, "remote", conn.NetConn().RemoteAddr().String())
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	h.s.log.Info("RTSP read of an unknown path", "path", path, "remote", conn.NetConn().RemoteAddr().String())
	return nil, &base.Response{StatusCode: base.StatusNotFound}
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if _, res, err := h.admit(ctx.Conn, ctx.Request); res != nil {
		return res, nil, err
	}
	st, res := h.find(ctx.Conn, ctx.Path)
	return res, st, nil
}

// OnAnnounce refuses publishers: the node only re-serves its cameras.
func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	h.s.log.Warn("RTSP publish refused", "path", ctx.Path, "remote", ctx.Conn.NetConn().RemoteAddr().String())
	return &base.Response{StatusCode: base.StatusForbidden}, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusForbidden}, nil, nil
	}
	if _, res, err := h.admit(ctx.Conn, ctx.Request); res != nil {
		return res, nil, err
	}
	st, res := h.find(ctx.Conn, ctx.Path)
	return res, st, nil
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	rd, res, err := h.admit(ctx.Conn, ctx.Request)
	if res != nil {
		return res, err
	}
	s := h.s
	cam := strings.Trim(ctx.Path, "/")
	transport := ""
	if t := ctx.Session.SetuppedTransport(); t != nil {
		transport = t.String()
	}
	src := remoteAddr(ctx.Conn)
	s.mu.Lock()
	if _, ok := s.readers[ctx.Session]; !ok {
		s.readers[ctx.Session] = &session{camera: cam, reader: rd, source: src, transport: transport, start: time.Now()}
		s.met.readers.WithLabelValues(cam).Inc()
	}
	s.mu.Unlock()
	s.log.Info("RTSP reader started", "camera", cam, "user", rd.User, "remote", addrString(src), "transport", transport)
	return &base.Response{StatusCode: base.StatusOK}, nil
}
