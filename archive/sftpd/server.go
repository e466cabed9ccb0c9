// Package sftpd serves the archive read-only over SFTP (CGR-5): accounts
// with argon2id or bcrypt password hashes and public keys, a per-account
// source address allow-list, a persistent ed25519 host key, a session
// limit and an idle timeout. Paths are confined to the archive root:
// "..", absolute paths and symlinks cannot leave it. Every connection,
// failed login and transferred file is logged.
package sftpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"
)

// maxChannels bounds the sessions multiplexed over one connection.
const maxChannels = 4

// Options configure a Server.
type Options struct {
	Listen      string // e.g. "0.0.0.0:2222"
	Root        string // the archive root, served as "/"
	HostKeyPath string // ed25519 host key, created on first start
	Accounts    []Account
	MaxSessions int           // concurrent connections (default 8)
	IdleTimeout time.Duration // close a connection silent this long (default 10m)
	// LoginTimeout bounds the handshake and authentication (default 30s).
	LoginTimeout time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

// Server is a read-only SFTP server over the archive.
type Server struct {
	o        Options
	ln       net.Listener
	cfg      *ssh.ServerConfig
	hostKey  ssh.PublicKey
	accounts map[string]*account
	dummy    passwordHash // checked for unknown accounts, to even out timing
	fs       *archiveFS
	m        *metrics
	log      *slog.Logger
	slots    chan struct{}
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
		o.LoginTimeout = 30 * time.Second
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
	dummy, err := HashPassword("kuzet-unknown-account")
	if err != nil {
		return nil, fmt.Errorf("sftp server: %w", err)
	}
	dh, _ := parsePasswordHash(dummy)
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("sftp server: register metrics: %w", err)
	}
	afs, err := openArchiveFS(o.Root)
	if err != nil {
		return nil, fmt.Errorf("sftp server: %w", err)
	}
	s := &Server{
		o: o, hostKey: signer.PublicKey(), accounts: accounts, dummy: dh, fs: afs, m: m,
		log: o.Logger, slots: make(chan struct{}, o.MaxSessions),
	}
	s.cfg = &ssh.ServerConfig{
		PasswordCallback:          s.passwordCallback,
		PublicKeyCallback:         s.publicKeyCallback,
		VerifiedPublicKeyCallback: s.verifiedKeyCallback,
		MaxAuthTries:              6,
		ServerVersion:             "SSH-2.0-Kuzet",
	}
	s.cfg.AddHostKey(signer)
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
		select {
		case s.slots <- struct{}{}:
		default:
			s.m.refused.WithLabelValues("session_limit").Inc()
			s.log.Warn("sftp connection refused: session limit reached", "remote", c.RemoteAddr().String(), "max_sessions", s.o.MaxSessions)
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.slots }()
			s.serveConn(ctx, c)
		}()
	}
}

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	remote := c.RemoteAddr().String()
	start := time.Now()
	s.m.sessions.Inc()
	defer s.m.sessions.Dec()
	s.log.Info("sftp connection", "remote", remote)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()

	ic := &idleConn{Conn: c, idle: s.o.IdleTimeout}
	_ = c.SetDeadline(time.Now().Add(s.o.LoginTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(ic, s.cfg)
	if err != nil {
		s.log.Info("sftp connection closed before login", "remote", remote, "err", err)
		return
	}
	ic.start()
	log := s.log.With("account", sc.User(), "remote", remote)
	st := &sessionStats{}
	h := &handlers{fs: s.fs, log: log, m: s.m, st: st}

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
	log.Info("sftp connection closed", "duration", time.Since(start).Round(time.Millisecond).String(),
		"files", st.files.Load(), "bytes", st.bytes.Load())
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
