package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kuzet/kuzet/netaddr"
)

// Checkpoint is the site's pass tokens and exit barriers (UA-3.2,
// UA-3.4.6): the card or ticket readers and barriers of its zones, and who
// grants exits.
type Checkpoint struct {
	Readers  []Reader  `yaml:"readers"`
	Barriers []Barrier `yaml:"barriers"`
	// ExitParties name the principals (user names, or token:NAME for API
	// tokens) that grant exits for customs and for the site owner; the exit
	// barrier opens once one of each has granted.
	ExitParties ExitParties `yaml:"exit_parties"`
	// BindWindow: how far apart a token presented at the entry and the
	// plates read there may be (default 2m); MatchWindow: how old a read at
	// a zone may be to be checked against a token (default 2m).
	BindWindow  Duration `yaml:"bind_window"`
	MatchWindow Duration `yaml:"match_window"`
	// Attempts an operator has on a mismatch before the token is blocked
	// (default 3).
	Attempts int `yaml:"attempts"`
}

// Reader is a card or ticket reader. It posts what is presented to
// POST /api/v1/readers/{id}/presentations with its own token.
type Reader struct {
	ID          string   `yaml:"id"`
	Zone        string   `yaml:"zone"`
	Token       string   `yaml:"token"`        // the reader's secret, at least 16 characters
	TokenSHA256 string   `yaml:"token_sha256"` // or its hex SHA-256
	From        []string `yaml:"from"`         // addresses or prefixes it posts from (empty: any the allow-list admits)
	// MaxSilence: a reader that sends heartbeats and is silent longer
	// raises reader_silent (0: not watched).
	MaxSilence Duration `yaml:"max_silence"`
}

// TokenHash is the hex SHA-256 of the reader's token.
func (r Reader) TokenHash() string {
	if r.TokenSHA256 != "" {
		return strings.ToLower(r.TokenSHA256)
	}
	h := sha256.Sum256([]byte(r.Token))
	return hex.EncodeToString(h[:])
}

// Barrier is a barrier at a zone, opened through its relay box: the node
// POSTs {"barrier", "action": "open", "visit", "plates"} to URL.
type Barrier struct {
	ID         string   `yaml:"id"`
	Zone       string   `yaml:"zone"`
	URL        string   `yaml:"url"`
	AuthHeader string   `yaml:"auth_header"` // e.g. "Authorization: Bearer ..."
	Timeout    Duration `yaml:"timeout"`     // per command (default 3s)
}

// ExitParties name who grants exits.
type ExitParties struct {
	Customs []string `yaml:"customs"`
	Owner   []string `yaml:"owner"`
}

// Parties maps each principal to its party.
func (p ExitParties) Parties() map[string]string {
	out := map[string]string{}
	for _, n := range p.Customs {
		out[n] = "customs"
	}
	for _, n := range p.Owner {
		out[n] = "owner"
	}
	return out
}

// Enabled reports whether the site runs pass tokens or barriers.
func (c Checkpoint) Enabled() bool {
	return len(c.Readers) > 0 || len(c.Barriers) > 0 || len(c.ExitParties.Customs) > 0 || len(c.ExitParties.Owner) > 0
}

func (c *Config) validateCheckpoint(zones map[string]bool, bad func(key, format string, args ...any) error) error {
	cp := &c.Checkpoint
	ids := map[string]bool{}
	tokens := map[string]string{}
	for i, r := range cp.Readers {
		key := func(k string) string { return fmt.Sprintf("checkpoint.readers[%d].%s", i, k) }
		if !idPattern.MatchString(r.ID) {
			return bad(key("id"), "must be 1-64 letters, digits, '-' or '_' (got %q)", r.ID)
		}
		if ids[r.ID] {
			return bad(key("id"), "duplicate reader id %q", r.ID)
		}
		ids[r.ID] = true
		if !zones[r.Zone] {
			return bad(key("zone"), "unknown zone %q: list it under zones (reader %s)", r.Zone, r.ID)
		}
		switch {
		case r.Token != "" && r.TokenSHA256 != "":
			return bad(key("token"), "give token or token_sha256, not both (reader %s)", r.ID)
		case r.Token == "" && r.TokenSHA256 == "":
			return bad(key("token"), "required: the reader's secret, at least 16 characters (reader %s)", r.ID)
		case r.Token != "" && len(r.Token) < 16:
			return bad(key("token"), "must be at least 16 characters (reader %s)", r.ID)
		case r.TokenSHA256 != "":
			if b, err := hex.DecodeString(r.TokenSHA256); err != nil || len(b) != sha256.Size {
				return bad(key("token_sha256"), "must be 64 hex digits (reader %s)", r.ID)
			}
		}
		if o, ok := tokens[r.TokenHash()]; ok {
			return bad(key("token"), "reader %s has the same token as reader %s; each reader needs its own", r.ID, o)
		}
		tokens[r.TokenHash()] = r.ID
		for j, f := range r.From {
			if _, err := netaddr.ParsePrefix(f); err != nil {
				return bad(fmt.Sprintf("%s[%d]", key("from"), j), "%v (reader %s)", err, r.ID)
			}
		}
		if d := time.Duration(r.MaxSilence); d != 0 && (d < time.Second || d > 24*time.Hour) {
			return bad(key("max_silence"), "must be 1s..24h, or 0 for none (reader %s, got %v)", r.ID, d)
		}
	}
	atZone := map[string]string{}
	for i, b := range cp.Barriers {
		key := func(k string) string { return fmt.Sprintf("checkpoint.barriers[%d].%s", i, k) }
		if !idPattern.MatchString(b.ID) {
			return bad(key("id"), "must be 1-64 letters, digits, '-' or '_' (got %q)", b.ID)
		}
		if ids[b.ID] {
			return bad(key("id"), "duplicate id %q (readers and barriers share names)", b.ID)
		}
		ids[b.ID] = true
		if !zones[b.Zone] {
			return bad(key("zone"), "unknown zone %q: list it under zones (barrier %s)", b.Zone, b.ID)
		}
		if o, ok := atZone[b.Zone]; ok {
			return bad(key("zone"), "zone %s has barrier %s already (barrier %s)", b.Zone, o, b.ID)
		}
		atZone[b.Zone] = b.ID
		u, err := url.Parse(b.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(key("url"), "must be the http:// or https:// URL of the barrier's relay box (barrier %s, got %q)", b.ID, b.URL)
		}
		if h := b.AuthHeader; h != "" && !strings.Contains(h, ":") {
			return bad(key("auth_header"), "must be \"Name: value\" (barrier %s)", b.ID)
		}
		if d := time.Duration(b.Timeout); d != 0 && (d < 100*time.Millisecond || d > time.Minute) {
			return bad(key("timeout"), "must be 100ms..1m (barrier %s, got %v)", b.ID, d)
		}
	}
	party := map[string]string{}
	for _, p := range []struct {
		name  string
		names []string
	}{{"customs", cp.ExitParties.Customs}, {"owner", cp.ExitParties.Owner}} {
		for j, n := range p.names {
			key := fmt.Sprintf("checkpoint.exit_parties.%s[%d]", p.name, j)
			if strings.TrimSpace(n) == "" {
				return bad(key, "empty name")
			}
			if o, ok := party[n]; ok && o != p.name {
				return bad(key, "%s grants for %s already: the two keys must be held by two parties", n, o)
			}
			party[n] = p.name
		}
	}
	if len(cp.Barriers) > 0 && (len(cp.ExitParties.Customs) == 0 || len(cp.ExitParties.Owner) == 0) {
		return bad("checkpoint.exit_parties", "a barrier opens on the permissions of customs and of the site owner: name who grants for each")
	}
	for _, w := range []struct {
		key string
		d   Duration
	}{{"checkpoint.bind_window", cp.BindWindow}, {"checkpoint.match_window", cp.MatchWindow}} {
		if d := time.Duration(w.d); d != 0 && (d < time.Second || d > time.Hour) {
			return bad(w.key, "must be 1s..1h, or 0 for the default 2m (got %v)", d)
		}
	}
	if cp.Attempts < 0 || cp.Attempts > 10 {
		return bad("checkpoint.attempts", "must be 1..10, or 0 for the default 3 (got %d)", cp.Attempts)
	}
	return nil
}
