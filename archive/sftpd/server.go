// Package sftpd serves the archive read-only over SFTP (CGR-5): accounts
// with argon2id or bcrypt password hashes and public keys, a per-account
// source address allow-list, a persistent ed25519 host key, a limit on
// logged-in sessions and an idle timeout. Paths are confined to the
// archive root: "..", absolute paths and symlinks cannot leave it.
//
// Connections from an address no account may use are closed at accept.
// Connections still logging in are bounded per address and in all, apart
// from the session limit, and must log in within LoginTimeout. Failed
// password logins are throttled per account and address, per address and
// per account (auth.Limiter). Every connection, failed login and
// transferred file is logged; logins, failed password logins, downloads
// and session ends also go to the audit hook.
//
// It may import archive, auth and netaddr; it may not import federation
// or api.
package sftpd

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/auth"
)

// maxChannels bounds the sessions multiplexed over one connection.
const maxChannels = 4

// Audit actions, as AuditEntry.Action.
const (
	ActionLogin       = "sftp.login"
	ActionLoginFailed = "sftp.login.failed"
	ActionDownload    = "sftp.download"
	ActionLogout      = "sftp.logout"
)

// AuditEntry is one act for the audit chain. Its fields match
// audit.Entry, so audit.Entry(e) converts it. User is "sftp:ACCOUNT",
// Source the client's address.
type AuditEntry struct {
	User   string
	Role   string
	Action string
	Object string
	Detail string
	Source string
}

// Options configure a Server.
type Options struct {
	Listen      string // e.g. "0.0.0.0:2222"
	Root        string // the archive root, served as "/"
	HostKeyPath string // ed25519 host key, created on first start
	Accounts    []Account
	// MaxSessions bounds logged-in connections (default 8); connections
	// still logging in do not count.
	MaxSessions int
	IdleTimeout time.Duration // close a logged-in connection silent this long (default 10m)
	// LoginTimeout bounds the handshake and authentication (default 15s).
	LoginTimeout time.Duration
	// MaxLoggingIn bounds connections that have not logged in yet (default
	// 32); when it is reached, the oldest of them is dropped for the new
	// one. MaxLoggingInPerAddress bounds them per client address (IPv6:
	// per /64; default 3); more from there are refused.
	MaxLoggingIn           int
	MaxLoggingInPerAddress int
	// Throttle bounds password guessing: per account and address, per
	// address, and per account from all addresses together (which spares
	// addresses the account has logged in from). Zero fields take the
	// defaults of auth.ThrottleOptions.
	Throttle auth.ThrottleOptions
	// FailDelay delays the answer to a failed password: FailDelay for the
	// first failure of an account from an address, doubling with each
	// further one up to 8 times it (default 250ms).
	FailDelay time.Duration
	// Replicas, if set, is the archive whose replicas kept in its object
	// store are served under /.replicas/ beside those on the local disk
	// (the *archive.Archive of Root).
	Replicas Replicas
	// Audit, if set, records logins, failed password logins, downloads
	// and session ends. A login that cannot be recorded gets no session.
	Audit      func(AuditEntry) error
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Server is a read-only SFTP server over the archive.
type Server struct {
	o        Options
	ln       net.Listener
	signer   ssh.Signer
	hostKey  ssh.PublicKey
	accounts map[string]*account
	anyAddr  bool         // some account may log in from anywhere
	dummy    passwordHash // checked for unknown accounts, to even out timing
	lim      *auth.Limiter
	fs       *archiveFS
	m        *metrics
	log      *slog.Logger
	slots    chan struct{}
	pre      *loggingIn
	refusals refusalLog
}

// New checks the options, loads or creates the host key and starts
// listening. Run serves; Close releases a server that is never run.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxSessions == 0 {
		o.MaxSessions = 8
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.LoginTimeout == 0 {
		o.LoginTimeout = 15 * time.Second
	}
	if o.MaxLoggingIn == 0 {
		o.MaxLoggingIn = 32
	}
	if o.MaxLoggingInPerAddress == 0 {
		o.MaxLoggingInPerAddress = 3
	}
	if o.FailDelay == 0 {
		o.FailDelay = 250 * time.Millisecond
	}
	switch {
	case o.Listen == "":
		return nil, errors.New("sftp server: listen address is not set")
	case o.Root == "":
		return nil, errors.New("sftp server: archive root is not set")
	case o.MaxSessions < 1:
		return nil, fmt.Errorf("sftp server: max_sessions %d must be at least 1", o.MaxSessions)
	case o.IdleTimeout < time.Second:
		return nil, fmt.Errorf("sftp server: idle_timeout %v must be at least 1s", o.IdleTimeout)
	case o.LoginTimeout < time.Second:
		return nil, fmt.Errorf("sftp server: login_timeout %v must be at least 1s", o.LoginTimeout)
	case o.MaxLoggingIn < 1 || o.MaxLoggingInPerAddress < 1:
		return nil, fmt.Errorf("sftp server: connections logging in: %d in all and %d per address must both be at least 1", o.MaxLoggingIn, o.MaxLoggingInPerAddress)
	case o.FailDelay < 0:
		return nil, fmt.Errorf("sftp server: failed-login delay %v is negative", o.FailDelay)
	case len(o.Accounts) == 0:
		return nil, errors.New("sftp server: no accounts configured")
	}
	accounts, err := parseAccounts(o.Accounts)
	if err != nil {
		return nil, fmt.Errorf("sftp server: %w", err)
	}
	signer, created, err := LoadOrCreateHostKey(o.HostKeyPath)
	if err != nil {
		return nil, fmt.Errorf("sftp server: %w", err)
	}
	if st, err := os.Stat(o.HostKeyPath); err == nil && st.Mode().Perm()&0o077 != 0 {
		o.Logger.Warn("sftp host key is readable by others; chmod 600 it", "path", o.HostKeyPath, "mode", st.Mode().Perm().String())
	}
	dummy, err := dummyFor(accounts)
	if err != nil {
		return nil, fmt.Errorf("sftp server: %w", err)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("sftp server: register metrics: %w", err)
	}
	afs, err := openArchiveFS(o.Root, o.Replicas)
	if err != nil {
		return nil, fmt.Errorf("sftp server: %w", err)
	}
	afs.log = o.Logger
	s := &Server{
		o: o, signer: signer, hostKey: signer.PublicKey(), accounts: accounts, dummy: dummy, lim: auth.NewLimiter(o.Throttle),
		fs: afs, m: m, log: o.Logger, slots: make(chan struct{}, o.MaxSessions),
		pre: newLoggingIn(o.MaxLoggingIn, o.MaxLoggingInPerAddress), refusals: refusalLog{seen: map[string]time.Time{}},
	}
	for _, a := range accounts {
		s.anyAddr = s.anyAddr || len(a.allow) == 0
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		afs.Close()
		return nil, fmt.Errorf("sftp server: listen on %s: %w", o.Listen, err)
	}
	s.ln = ln
	s.log.Info("sftp server listening", "addr", ln.Addr().String(), "root", o.Root,
		"host_key", ssh.FingerprintSHA256(s.hostKey), "host_key_created", created, "accounts", len(accounts))
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// HostKey is the server's public host key, for clients to pin.
func (s *Server) HostKey() ssh.PublicKey { return s.hostKey }

// Close stops listening; Run does it itself when its context ends.
func (s *Server) Close() error {
	err := s.ln.Close()
	if cerr := s.fs.Close(); err == nil || errors.Is(err, net.ErrClosed) {
		err = cerr
	}
	return err
}

// connState is what one connection's callbacks share.
type connState struct {
	ip     netip.Addr
	remote string
	banner atomic.Pointer[ssh.ServerPreAuthConn]
}

// config is the server's SSH configuration with callbacks bound to one
// connection.
func (s *Server) config(cs *connState) *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) { return s.passwordCallback(cs, c, pw) },
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			return s.publicKeyCallback(cs, c, k)
		},
		VerifiedPublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey, p *ssh.Permissions, alg string) (*ssh.Permissions, error) {
			return s.verifiedKeyCallback(cs, c, k, p, alg)
		},
		PreAuthConnCallback: func(pc ssh.ServerPreAuthConn) { cs.banner.Store(&pc) },
		MaxAuthTries:        6,
		ServerVersion:       "SSH-2.0-Kuzet",
	}
	cfg.AddHostKey(s.signer)
	return cfg
}

// allowedAnywhere reports whether some account may log in from ip.
func (s *Server) allowedAnywhere(ip netip.Addr) bool {
	if s.anyAddr {
		return true
	}
	for _, a := range s.accounts {
		if a.allowsIP(ip) {
			return true
		}
	}
	return false
}

// Run accepts connections until ctx ends, then closes every open one and
// returns once they are all gone.
func (s *Server) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer func() {
		s.ln.Close()
		wg.Wait()
		s.fs.Close()
	}()
	delay := 5 * time.Millisecond
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// out of file descriptors and the like: wait rather than spin
			s.log.Error("sftp accept", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(delay):
			}
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		ip := remoteIP(c.RemoteAddr())
		if !s.allowedAnywhere(ip) {
			// refused before the handshake: an address nobody may use
			// takes nothing but this accept
			s.m.refused.WithLabelValues("address").Inc()
			s.refusals.note(s.log, ip, "sftp connection refused: no account may log in from this address", "remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		p, evicted, ok := s.pre.admit(c, ip)
		if !ok {
			s.m.refused.WithLabelValues("login_limit_address").Inc()
			s.refusals.note(s.log, ip, "sftp connection refused: too many connections logging in from this address",
				"remote", c.RemoteAddr().String(), "max_per_address", s.o.MaxLoggingInPerAddress)
			c.Close()
			continue
		}
		if evicted != nil {
			s.m.refused.WithLabelValues("login_limit").Inc()
			s.log.Warn("sftp connection dropped before login: too many connections logging in; the oldest makes room",
				"remote", evicted.RemoteAddr().String(), "max_logging_in", s.o.MaxLoggingIn)
			evicted.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c, p)
		}()
	}
}

func remoteIP(a net.Addr) netip.Addr {
	ap, ok := addrPort(a)
	if !ok {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (s *Server) serveConn(ctx context.Context, c net.Conn, p *pending) {
	remote := c.RemoteAddr().String()
	start := time.Now()
	s.m.loggingIn.Inc()
	loggingIn := true
	doneLoggingIn := func() {
		if loggingIn {
			loggingIn = false
			s.pre.done(p)
			s.m.loggingIn.Dec()
		}
	}
	defer doneLoggingIn()
	s.log.Info("sftp connection", "remote", remote)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()

	cs := &connState{ip: p.ip, remote: remote}
	ic := &idleConn{Conn: c, idle: s.o.IdleTimeout}
	_ = c.SetDeadline(time.Now().Add(s.o.LoginTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(ic, s.config(cs))
	doneLoggingIn()
	if err != nil {
		s.log.Info("sftp connection closed before login", "remote", remote, "err", err)
		return
	}
	ic.start()
	account := sc.User()
	log := s.log.With("account", account, "remote", remote)
	// only logged-in connections take a session slot
	select {
	case s.slots <- struct{}{}:
	default:
		s.m.refused.WithLabelValues("session_limit").Inc()
		log.Warn("sftp connection refused: session limit reached", "max_sessions", s.o.MaxSessions)
		refuseSession(sc, chans, reqs, fmt.Sprintf("session limit reached (%d sessions open); try again later", s.o.MaxSessions))
		return
	}
	defer func() { <-s.slots }()
	s.m.sessions.Inc()
	defer s.m.sessions.Dec()
	method := sc.Permissions.Extensions["method"]
	detail := "method " + method
	if k := sc.Permissions.Extensions["key"]; k != "" {
		detail += " key " + k
	}
	src := addrText(cs.ip)
	// the login is recorded before anything is served: an unrecorded
	// session must not happen
	if err := s.record(AuditEntry{User: "sftp:" + account, Action: ActionLogin, Detail: detail, Source: src}); err != nil {
		log.Error("sftp session refused: audit log unavailable", "err", err)
		refuseSession(sc, chans, reqs, "the audit log is unavailable; no session without it")
		return
	}
	st := &sessionStats{}
	h := &handlers{fs: s.fs, log: log, m: s.m, st: st, record: func(path string, sent, size int64) {
		e := AuditEntry{User: "sftp:" + account, Action: ActionDownload, Object: path,
			Detail: fmt.Sprintf("%d bytes sent of %d", sent, size), Source: src}
		if err := s.record(e); err != nil {
			log.Error("sftp download not recorded in the audit log", "path", path, "bytes", sent, "err", err)
		}
	}}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// port forwarding refused; keepalives get their (negative) answer
		ssh.DiscardRequests(reqs)
	}()
	var open atomic.Int32
	for nc := range chans {
		if nc.ChannelType() != "session" {
			log.Warn("sftp channel refused", "type", nc.ChannelType())
			_ = nc.Reject(ssh.UnknownChannelType, "only SFTP sessions are served")
			continue
		}
		// the session limit counts connections; this keeps one connection
		// from opening servers without bound
		if open.Load() >= maxChannels {
			log.Warn("sftp channel refused: too many on one connection", "max", maxChannels)
			_ = nc.Reject(ssh.ResourceShortage, "too many channels on this connection")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			log.Info("sftp channel accept", "err", err)
			continue
		}
		open.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer open.Add(-1)
			s.serveChannel(ch, creqs, h)
		}()
	}
	sc.Close()
	wg.Wait()
	d := time.Since(start).Round(time.Millisecond)
	log.Info("sftp connection closed", "duration", d.String(), "files", st.files.Load(), "bytes", st.bytes.Load())
	if err := s.record(AuditEntry{User: "sftp:" + account, Action: ActionLogout, Source: src,
		Detail: fmt.Sprintf("after %s: %d files, %d bytes", d, st.files.Load(), st.bytes.Load())}); err != nil {
		log.Error("sftp session end not recorded in the audit log", "err", err)
	}
}

// refuseSession answers a logged-in connection that may not have a
// session: its first channel is refused with msg (OpenSSH prints it), and
// the connection closed.
func refuseSession(sc *ssh.ServerConn, chans <-chan ssh.NewChannel, reqs <-chan *ssh.Request, msg string) {
	go ssh.DiscardRequests(reqs)
	t := time.AfterFunc(10*time.Second, func() { sc.Close() })
	defer t.Stop()
	if nc, ok := <-chans; ok {
		_ = nc.Reject(ssh.ResourceShortage, msg)
	}
	go func() {
		for nc := range chans {
			_ = nc.Reject(ssh.ResourceShortage, msg)
		}
	}()
	// give the refusal time to leave before the connection goes
	time.Sleep(100 * time.Millisecond)
	sc.Close()
}

func (s *Server) record(e AuditEntry) error {
	if s.o.Audit == nil {
		return nil
	}
	return s.o.Audit(e)
}

func addrText(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown address"
	}
	return ip.String()
}

// addrKey groups an IPv6 client by its /64, which one host usually owns
// whole.
func addrKey(ip netip.Addr) string {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// loggingIn tracks connections that have not logged in yet.
type loggingIn struct {
	max, perAddr int
	mu           sync.Mutex
	byAddr       map[string]int
	order        *list.List // of *pending, oldest first
}

type pending struct {
	c    net.Conn
	ip   netip.Addr
	key  string
	elem *list.Element // nil once it left the table
}

func newLoggingIn(max, perAddr int) *loggingIn {
	return &loggingIn{max: max, perAddr: perAddr, byAddr: map[string]int{}, order: list.New()}
}

// admit takes c into the table. It refuses c when its address already has
// perAddr connections logging in; when the table is full, the oldest
// connection leaves it and is returned to be closed.
func (t *loggingIn) admit(c net.Conn, ip netip.Addr) (p *pending, evicted net.Conn, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := addrKey(ip)
	if t.byAddr[key] >= t.perAddr {
		return nil, nil, false
	}
	if t.order.Len() >= t.max {
		old := t.order.Front().Value.(*pending)
		t.removeLocked(old)
		evicted = old.c
	}
	p = &pending{c: c, ip: ip, key: key}
	p.elem = t.order.PushBack(p)
	t.byAddr[key]++
	return p, evicted, true
}

// done takes p out of the table (once it logged in or went away).
func (t *loggingIn) done(p *pending) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(p)
}

func (t *loggingIn) removeLocked(p *pending) {
	if p.elem == nil {
		return
	}
	t.order.Remove(p.elem)
	p.elem = nil
	if t.byAddr[p.key]--; t.byAddr[p.key] <= 0 {
		delete(t.byAddr, p.key)
	}
}

// refusalLog logs a refusal at most once a minute per address, so that a
// scanner cannot flood the log; the metrics count every one.
type refusalLog struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (r *refusalLog) note(log *slog.Logger, ip netip.Addr, msg string, attrs ...any) {
	now := time.Now()
	key := addrKey(ip) + " " + msg
	r.mu.Lock()
	last, ok := r.seen[key]
	due := !ok || now.Sub(last) >= time.Minute
	if due {
		if len(r.seen) >= 4096 {
			clear(r.seen)
		}
		r.seen[key] = now
	}
	r.mu.Unlock()
	if due {
		log.Warn(msg, attrs...)
	}
}

// serveChannel answers a session channel's requests: the "sftp" subsystem
// is served, shells, commands and everything else are refused.
func (s *Server) serveChannel(ch ssh.Channel, reqs <-chan *ssh.Request, h *handlers) {
	var done chan struct{}
	for req := range reqs {
		ok := false
		switch {
		case req.Type == "subsystem" && done == nil && subsystemName(req.Payload) == "sftp":
			ok = true
			done = make(chan struct{})
			rs := sftp.NewRequestServer(ch, h.sftpHandlers())
			go func() {
				defer close(done)
				if err := rs.Serve(); err != nil && !isClosed(err) {
					h.log.Info("sftp session ended", "err", err)
				}
				rs.Close()
				ch.Close()
			}()
		case req.Type == "shell" || req.Type == "exec" || req.Type == "subsystem":
			h.log.Warn("sftp session request refused", "request", req.Type, "subsystem", subsystemName(req.Payload))
		}
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
	}
	if done != nil {
		<-done
	} else {
		ch.Close()
	}
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed)
}

// subsystemName reads the SSH string of a subsystem request.
func subsystemName(p []byte) string {
	if len(p) < 4 {
		return ""
	}
	n := int(p[0])<<24 | int(p[1])<<16 | int(p[2])<<8 | int(p[3])
	if n < 0 || n > len(p)-4 || n > 64 {
		return ""
	}
	return string(p[4 : 4+n])
}

// idleConn closes a logged-in connection after IdleTimeout without
// traffic in either direction (a stalled reader counts as idle too).
type idleConn struct {
	net.Conn
	idle time.Duration
	on   atomic.Bool // set after login; the login deadline applies before
}

func (c *idleConn) start() {
	c.on.Store(true)
	_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
}

func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.on.Load() {
		_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 && c.on.Load() {
		_ = c.Conn.SetDeadline(time.Now().Add(c.idle))
	}
	return n, err
}
