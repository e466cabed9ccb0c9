package sftpd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
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
	allow    []netip.Prefix
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
			p, err := parsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("accounts[%d] (%s).allow[%d]: %w", i, a.Name, j, err)
			}
			acc.allow = append(acc.allow, p)
		}
		out[a.Name] = acc
	}
	return out, nil
}

// parsePrefix takes an address ("10.0.0.5", "::1") or a CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not a CIDR prefix: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func (a *account) allows(addr net.Addr) bool {
	if len(a.allow) == 0 {
		return true
	}
	ap, ok := addrPort(addr)
	if !ok {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range a.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
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
)

var errLogin = errors.New("login refused")

func (s *Server) passwordCallback(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
	acc, ok := s.accounts[c.User()]
	if !ok {
		// spend the same time as for a real account, so timing does not
		// tell which names exist
		s.dummy.verify(pw)
		return nil, s.loginFailed(c, "password", reasonUnknownAccount, "")
	}
	if !acc.allows(c.RemoteAddr()) {
		return nil, s.loginFailed(c, "password", reasonAddress, "")
	}
	if acc.password == nil {
		return nil, s.loginFailed(c, "password", reasonNoPassword, "")
	}
	if !acc.password.verify(pw) {
		return nil, s.loginFailed(c, "password", reasonPassword, "")
	}
	s.loginOK(c, "password", "")
	return &ssh.Permissions{}, nil
}

// publicKeyCallback is also asked about keys the client only offers; the
// login counts once the client proves it holds the key.
func (s *Server) publicKeyCallback(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
	fp := ssh.FingerprintSHA256(k)
	acc, ok := s.accounts[c.User()]
	if !ok {
		return nil, s.loginFailed(c, "publickey", reasonUnknownAccount, fp)
	}
	if !acc.allows(c.RemoteAddr()) {
		return nil, s.loginFailed(c, "publickey", reasonAddress, fp)
	}
	if !acc.hasKey(k) {
		return nil, s.loginFailed(c, "publickey", reasonKey, fp)
	}
	return &ssh.Permissions{Extensions: map[string]string{"key": fp}}, nil
}

func (s *Server) verifiedKeyCallback(c ssh.ConnMetadata, _ ssh.PublicKey, p *ssh.Permissions, _ string) (*ssh.Permissions, error) {
	s.loginOK(c, "publickey", p.Extensions["key"])
	return p, nil
}

func (s *Server) loginFailed(c ssh.ConnMetadata, method, reason, key string) error {
	s.m.loginFailures.WithLabelValues(reason).Inc()
	attrs := []any{"account", c.User(), "remote", c.RemoteAddr().String(), "method", method, "reason", reason}
	if key != "" {
		attrs = append(attrs, "key", key)
	}
	s.log.Warn("sftp login failed", attrs...)
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
