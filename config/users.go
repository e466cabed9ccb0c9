package config

import (
	"fmt"
	"regexp"
	"time"

	"github.com/kuzet/kuzet/netaddr"
)

var userPattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// User may log in to the API and the UI.
type User struct {
	Name         string   `yaml:"name"`
	Role         string   `yaml:"role"`          // admin | engineer | operator | viewer
	PasswordHash string   `yaml:"password_hash"` // argon2id (kuzet user hash)
	Allow        []string `yaml:"allow"`         // addresses/prefixes it may log in from; empty: any
	Disabled     bool     `yaml:"disabled"`
}

// HTTPTLS serves HTTPS when both files are given.
type HTTPTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Session bounds browser sessions.
type Session struct {
	Idle       Duration `yaml:"idle"`     // default 30m
	Lifetime   Duration `yaml:"lifetime"` // default 12h
	MaxPerUser int      `yaml:"max_per_user"`
}

// LoginThrottle slows password guessing.
type LoginThrottle struct {
	UserFree   int      `yaml:"user_free"`
	SourceFree int      `yaml:"source_free"`
	Base       Duration `yaml:"base"`
	Max        Duration `yaml:"max"`
	Forget     Duration `yaml:"forget"`
}

// AuthEnabled reports whether requests need a login: with no users
// configured, only the allow-list guards the API.
func (c *Config) AuthEnabled() bool { return len(c.Users) > 0 }

func (c *Config) validateUsers(bad func(key, format string, args ...any) error) error {
	h := &c.HTTP
	if len(h.AdminFrom) == 0 {
		h.AdminFrom = []string{"127.0.0.0/8", "::1/128"}
	}
	for i, a := range h.AdminFrom {
		if _, err := netaddr.ParsePrefix(a); err != nil {
			return bad(fmt.Sprintf("http.admin_from[%d]", i), "%v", err)
		}
	}
	if (h.TLS.Cert == "") != (h.TLS.Key == "") {
		return bad("http.tls", "needs both cert and key")
	}
	for k, d := range map[string]Duration{"http.session.idle": h.Session.Idle, "http.session.lifetime": h.Session.Lifetime} {
		if d < 0 || (d != 0 && d.Std() < time.Minute) {
			return bad(k, "must be at least 1m (got %v)", d.Std())
		}
	}
	seen := map[string]bool{}
	for i, u := range c.Users {
		key := func(k string) string { return fmt.Sprintf("users[%d].%s", i, k) }
		if !userPattern.MatchString(u.Name) || seen[u.Name] {
			return bad(key("name"), "must be a unique name of 1-64 letters, digits, '.', '_', '-' or '@' (got %q)", u.Name)
		}
		seen[u.Name] = true
		switch u.Role {
		case "admin", "engineer", "operator", "viewer":
		default:
			return bad(key("role"), "must be admin, engineer, operator or viewer (got %q)", u.Role)
		}
		if len(u.PasswordHash) < 10 || u.PasswordHash[:10] != "$argon2id$" {
			return bad(key("password_hash"), "must be an argon2id hash (make one with kuzet user hash), not a password")
		}
		for _, p := range u.Allow {
			if _, err := netaddr.ParsePrefix(p); err != nil {
				return bad(key("allow"), "%v", err)
			}
		}
	}
	return nil
}
