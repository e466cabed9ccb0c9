package sftpd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/netaddr"
)

// Account is one login to the SFTP server.
type Account struct {
	Name string
	// PasswordHash is argon2id in PHC form (see HashPassword) or bcrypt;
	// empty disables password login for the account.
	PasswordHash string
	// AuthorizedKeys are public keys in authorized_keys form
	// ("ssh-ed25519 AAAA... comment"), one per entry.
	AuthorizedKeys []string
	// Allow lists the source addresses or CIDR prefixes the account may log
	// in from; empty allows any address.
	Allow []string
}

var accountName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

type account struct {
	name     string
	password passwordHash // nil: no password login
	keys     [][]byte     // marshalled public keys
	allow    netaddr.Prefixes
}

func parseAccounts(in []Account) (map[string]*account, error) {
	out := make(map[string]*account, len(in))
	for i, a := range in {
		if !accountName.MatchString(a.Name) {
			return nil, fmt.Errorf("accounts[%d].name %q: want 1-64 letters, digits, '.', '_' or '-'", i, a.Name)
		}
		if _, dup := out[a.Name]; dup {
			return nil, fmt.Errorf("accounts[%d].name %q: given twice", i, a.Name)
		}
		acc := &account{name: a.Name}
		if a.PasswordHash != "" {
			h, err := parsePasswordHash(a.PasswordHash)
			if err != nil {
				return nil, fmt.Errorf("accounts[%d] (%s).password_hash: %w", i, a.Name, err)
			}
			acc.password = h
		}
		for j, k := range a.AuthorizedKeys {
			pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
			if err != nil {
				return nil, fmt.Errorf("accounts[%d] (%s).keys[%d]: %w", i, a.Name, j, err)
			}
			acc.keys = append(acc.keys, pk.Marshal())
		}
		if acc.password == nil && len(acc.keys) == 0 {
			return nil, fmt.Errorf("accounts[%d] (%s): neither a password hash nor a key is set, so nobody could log in", i, a.Name)
		}
		for j, s := range a.Allow {
			// a range pasted from a file may keep its newline
			p, err := netaddr.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("accounts[%d] (%s).allow[%d]: %w", i, a.Name, j, err)
			}
			acc.allow = append(acc.allow, p)
		}
		out[a.Name] = acc
	}
	return out, nil
}

func (a *account) allowsIP(ip netip.Addr) bool {
	if len(a.allow) == 0 {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	return a.allow.Contains(ip)
}

func addrPort(addr net.Addr) (netip.AddrPort, bool) {
	if t, ok := addr.(*net.TCPAddr); ok {
		return t.AddrPort(), true
	}
	ap, err := netip.ParseAddrPort(addr.String())
	return ap, err == nil
}

func (a *account) hasKey(k ssh.PublicKey) bool {
	m := k.Marshal()
	for _, have := range a.keys {
		if bytes.Equal(have, m) {
			return true
		}
	}
	return false
}

// Reasons a login fails, as logged and counted.
const (
	reasonUnknownAccount = "unknown_account"
	reasonAddress        = "address_not_allowed"
	reasonPassword       = "wrong_password"
	reasonNoPassword     = "password_login_disabled"
	reasonKey            = "key_not_authorized"
	reasonThrottled      = "throttled"
)

var errLogin = errors.New("login refused")

// passwordCallback checks a password under the throttle. A locked account
// and address are refused without a password being checked. Otherwise
// every attempt costs one hash of the same price: the account's own, or,
// for an unknown account or an address the account may not use, a dummy
// of the cost most accounts' hashes have. So timing tells neither which
// accounts exist nor whether the password was right from a refused
// address. Each failure is answered late, the later the more failures
// the account has had from that address.
func (s *Server) passwordCallback(cs *connState, c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	name := c.User()
	now := time.Now()
	if wait, first, scope := s.lim.Check(name, cs.ip, now); wait > 0 {
		s.m.loginFailures.WithLabelValues(reasonThrottled).Inc()
		var msg string
		switch scope {
		case auth.ScopeAddress:
			msg = fmt.Sprintf("too many failed logins from %s", addrText(cs.ip))
		case auth.ScopeUser:
			msg = fmt.Sprintf("too many failed logins for %s from new addresses", name)
		default:
			msg = fmt.Sprintf("too many failed logins for %s from %s", name, addrText(cs.ip))
		}
		msg += fmt.Sprintf("; password logins refused for %s", wait.Truncate(time.Second)+time.Second)
		if pc := cs.banner.Load(); pc != nil {
			_ = (*pc).SendAuthBanner("kuzet: " + msg + "\n")
		}
		if first {
			s.log.Warn("sftp login refused: "+msg, "account", name, "remote", cs.remote, "method", "password",
				"reason", reasonThrottled, "scope", scope, "retry_in", wait.String())
			s.recordFailure(name, cs, "throttled: "+msg)
		}
		return nil, errLogin
	}
	acc, known := s.accounts[name]
	placeOK := !known || acc.allowsIP(cs.ip)
	h := s.dummy
	if known && placeOK && acc.password != nil {
		h = acc.password
	}
	ok := h.verify(pw)
	var reason string
	switch {
	case !known:
		reason = reasonUnknownAccount
	case !placeOK:
		reason = reasonAddress
	case acc.password == nil:
		reason = reasonNoPassword
	case !ok:
		reason = reasonPassword
	default:
		s.lim.Succeed(name, cs.ip, now)
		s.loginOK(c, "password", "")
		return &ssh.Permissions{Extensions: map[string]string{"method": "password"}}, nil
	}
	lock, n := s.lim.Fail(name, cs.ip, now, placeOK)
	err := s.loginFailed(c, "password", reason, "", "locked_for", lock.String())
	s.recordFailure(name, cs, reason)
	if d := s.o.FailDelay << min(max(n-1, 0), 3); d > 0 {
		time.Sleep(d)
	}
	return nil, err
}

func (s *Server) recordFailure(name string, cs *connState, detail string) {
	e := AuditEntry{User: "sftp:" + name, Action: ActionLoginFailed, Detail: detail, Source: addrText(cs.ip)}
	if err := s.record(e); err != nil {
		s.log.Error("sftp failed login not recorded in the audit log", "account", name, "remote", cs.remote, "err", err)
	}
}

// publicKeyCallback is also asked about keys the client only offers; the
// login counts once the client proves it holds the key. Keys cannot be
// guessed, so key logins are not throttled, and refused offers (clients
// offer every key they hold) are logged but not audited.
func (s *Server) publicKeyCallback(cs *connState, c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
	fp := ssh.FingerprintSHA256(k)
	acc, ok := s.accounts[c.User()]
	if !ok {
		return nil, s.loginFailed(c, "publickey", reasonUnknownAccount, fp)
	}
	if !acc.allowsIP(cs.ip) {
		return nil, s.loginFailed(c, "publickey", reasonAddress, fp)
	}
	if !acc.hasKey(k) {
		return nil, s.loginFailed(c, "publickey", reasonKey, fp)
	}
	return &ssh.Permissions{Extensions: map[string]string{"key": fp, "method": "publickey"}}, nil
}

func (s *Server) verifiedKeyCallback(cs *connState, c ssh.ConnMetadata, _ ssh.PublicKey, p *ssh.Permissions, _ string) (*ssh.Permissions, error) {
	s.lim.Succeed(c.User(), cs.ip, time.Now())
	s.loginOK(c, "publickey", p.Extensions["key"])
	return p, nil
}

func (s *Server) loginFailed(c ssh.ConnMetadata, method, reason, key string, more ...any) error {
	s.m.loginFailures.WithLabelValues(reason).Inc()
	attrs := []any{"account", c.User(), "remote", c.RemoteAddr().String(), "method", method, "reason", reason}
	if key != "" {
		attrs = append(attrs, "key", key)
	}
	s.log.Warn("sftp login failed", append(attrs, more...)...)
	return errLogin
}

func (s *Server) loginOK(c ssh.ConnMetadata, method, key string) {
	s.m.logins.Inc()
	attrs := []any{"account", c.User(), "remote", c.RemoteAddr().String(), "method", method}
	if key != "" {
		attrs = append(attrs, "key", key)
	}
	s.log.Info("sftp login", attrs...)
}
