package config

import (
	"fmt"
	"net"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/kuzet/kuzet/netaddr"
)

// SFTP serves the archive read-only (CGR-5); no listen: off.
type SFTP struct {
	Listen       string        `yaml:"listen"`
	HostKey      string        `yaml:"host_key"` // default DATA_DIR/sftp_host_ed25519
	MaxSessions  int           `yaml:"max_sessions"`
	IdleTimeout  Duration      `yaml:"idle_timeout"`
	LoginTimeout Duration      `yaml:"login_timeout"`
	Accounts     []SFTPAccount `yaml:"accounts"`
}

// SFTPAccount may log in with a password, a key, or either.
type SFTPAccount struct {
	Name         string   `yaml:"name"`
	PasswordHash string   `yaml:"password_hash"` // argon2id (kuzet sftp passwd) or bcrypt
	Keys         []string `yaml:"keys"`          // authorized_keys lines
	Allow        []string `yaml:"allow"`         // source addresses or CIDRs; empty: any
}

// SFTPPush uploads every closed segment to a target; no host: off.
type SFTPPush struct {
	Host         string   `yaml:"host"`
	Port         int      `yaml:"port"`
	User         string   `yaml:"user"`
	Password     string   `yaml:"password"`
	Key          string   `yaml:"key"`            // private key file
	KnownHostKey string   `yaml:"known_host_key"` // required
	Root         string   `yaml:"root"`           // absolute remote directory
	MaxMbps      float64  `yaml:"max_mbps"`
	AlarmAfter   Duration `yaml:"alarm_after"`
	BackoffMax   Duration `yaml:"backoff_max"`
	Timeout      Duration `yaml:"timeout"`
}

var accountPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (c *Config) validateSFTP(bad func(key, format string, args ...any) error) error {
	s := &c.SFTP
	if s.Listen != "" {
		if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
			return bad("sftp.listen", "must be host:port, e.g. 0.0.0.0:2222 (got %q)", s.Listen)
		}
		if s.HostKey == "" {
			s.HostKey = path.Join(c.Node.DataDir, "sftp_host_ed25519")
		}
		if s.MaxSessions == 0 {
			s.MaxSessions = 8
		}
		if s.MaxSessions < 1 || s.MaxSessions > 1000 {
			return bad("sftp.max_sessions", "must be 1..1000 (got %d)", s.MaxSessions)
		}
		if len(s.Accounts) == 0 {
			return bad("sftp.accounts", "an SFTP server needs at least one account")
		}
	}
	seen := map[string]bool{}
	for i, a := range s.Accounts {
		key := func(k string) string { return fmt.Sprintf("sftp.accounts[%d].%s", i, k) }
		if !accountPattern.MatchString(a.Name) || seen[a.Name] {
			return bad(key("name"), "must be a unique name of 1-64 letters, digits, '.', '_' or '-' (got %q)", a.Name)
		}
		seen[a.Name] = true
		if h := a.PasswordHash; h != "" && !strings.HasPrefix(h, "$argon2id$") && !strings.HasPrefix(h, "$2a$") &&
			!strings.HasPrefix(h, "$2b$") && !strings.HasPrefix(h, "$2y$") {
			return bad(key("password_hash"), "must be an argon2id or bcrypt hash (make one with kuzet sftp passwd), not a password")
		}
		if a.PasswordHash == "" && len(a.Keys) == 0 {
			return bad(key("password_hash"), "account %s needs a password hash or keys", a.Name)
		}
		for _, p := range a.Allow {
			if _, err := netaddr.ParsePrefix(p); err != nil {
				return bad(key("allow"), "%v", err)
			}
		}
	}
	p := &c.SFTPPush
	if p.Host == "" {
		return nil
	}
	if p.Port == 0 {
		p.Port = 22
	}
	if p.Port < 1 || p.Port > 65535 {
		return bad("sftp_push.port", "must be 1..65535 (got %d)", p.Port)
	}
	if p.User == "" {
		return bad("sftp_push.user", "required")
	}
	if p.Password == "" && p.Key == "" {
		return bad("sftp_push.key", "a key file or a password is required")
	}
	if p.KnownHostKey == "" {
		return bad("sftp_push.known_host_key", "required: the target's host key (ssh-keyscan -p PORT HOST) or its SHA256 fingerprint")
	}
	if !path.IsAbs(p.Root) {
		return bad("sftp_push.root", "must be an absolute remote directory (got %q)", p.Root)
	}
	if p.MaxMbps < 0 {
		return bad("sftp_push.max_mbps", "must not be negative")
	}
	for k, d := range map[string]*Duration{"sftp_push.alarm_after": &p.AlarmAfter, "sftp_push.backoff_max": &p.BackoffMax, "sftp_push.timeout": &p.Timeout} {
		if *d < 0 || (*d != 0 && d.Std() < time.Second) {
			return bad(k, "must be at least 1s (got %v)", d.Std())
		}
	}
	return nil
}
