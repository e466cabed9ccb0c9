package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Seals makes the node its country's operator in the navigation-seal
// exchange (docs/seals.md); no operator: off.
type Seals struct {
	Operator string `yaml:"operator"` // this operator's ID: KZ.KTZE
	// Listen is where partners deliver messages (HTTPS, mutual TLS).
	Listen string   `yaml:"listen"`
	TLS    SealsTLS `yaml:"tls"`
	// Partners are the operators messages go to and come from; a message
	// from anyone else is refused.
	Partners []SealPartner `yaml:"partners"`
	Timeout  Duration      `yaml:"timeout"`   // per delivery (default 10s)
	RetryMax Duration      `yaml:"retry_max"` // longest wait between retries (default 30s)
	// LimitKM is how far from its declared route a seal may be before the
	// deviation anomaly (03), for routes that set no limit (default 50).
	LimitKM float64 `yaml:"limit_km"`
	// Keep is how long the exchange keeps its log, dedupe keys, readings,
	// crossings and ended shipments (default 8760h, a year; at least 24h).
	Keep Duration `yaml:"keep"`
}

// SealsTLS is the operator's certificate, presented to partners both as
// server and as client.
type SealsTLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// SealPartner is another member state's operator.
type SealPartner struct {
	ID      string   `yaml:"id"`      // its operator ID: RU.GLONASS-TM
	Country string   `yaml:"country"` // its member state (default: the ID's prefix, which it must equal)
	URL     string   `yaml:"url"`     // where its exchange takes messages: https://host:port
	CA      string   `yaml:"ca"`      // PEM of the CA that issues its certificates (and no other partner's)
	Roles   []string `yaml:"roles"`   // SealRoles
}

// SealRoles are the parts a partner plays in the exchange: the operator
// that registers seals in its state (asked whose a seal is), one that
// tracks shipments, one whose state shipments cross.
var SealRoles = map[string]bool{"national": true, "tracking": true, "transit": true}

// sealOperatorPattern is seals' operator ID (that package's operatorRE;
// config imports nothing of the node).
var sealOperatorPattern = regexp.MustCompile(`^(AM|BY|KG|KZ|RU)\.[A-Z0-9][A-Z0-9_-]{0,31}$`)

// Enabled reports whether the node takes part in the exchange.
func (s Seals) Enabled() bool { return s.Operator != "" }

func (c *Config) validateSeals(bad func(key, format string, args ...any) error) error {
	s := &c.Seals
	if !s.Enabled() {
		if s.Listen != "" || len(s.Partners) > 0 {
			return bad("seals.operator", "required when seals.listen or seals.partners is set")
		}
		return nil
	}
	const opHelp = "must be an operator ID: a member state (AM, BY, KG, KZ, RU), a dot and 1-32 capitals, digits, '_' or '-', e.g. KZ.KTZE (got %q)"
	if !sealOperatorPattern.MatchString(s.Operator) {
		return bad("seals.operator", opHelp, s.Operator)
	}
	if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
		return bad("seals.listen", "must be host:port, e.g. 0.0.0.0:8443 (got %q)", s.Listen)
	}
	for _, kv := range [][2]string{{"seals.tls.cert", s.TLS.Cert}, {"seals.tls.key", s.TLS.Key}} {
		if kv[1] == "" {
			return bad(kv[0], "required: the operator's certificate and key (kuzet pki operator)")
		}
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(10 * time.Second)
	}
	if s.RetryMax == 0 {
		s.RetryMax = Duration(30 * time.Second)
	}
	if s.Timeout < Duration(time.Second) || s.RetryMax < Duration(100*time.Millisecond) {
		return bad("seals.timeout", "timeout must be at least 1s and retry_max at least 100ms")
	}
	if s.Keep == 0 {
		s.Keep = Duration(365 * 24 * time.Hour)
	}
	if s.Keep < Duration(24*time.Hour) {
		return bad("seals.keep", "must be at least 24h: partners' retries are recognised that long (got %v)", time.Duration(s.Keep))
	}
	if s.LimitKM == 0 {
		s.LimitKM = 50
	}
	if s.LimitKM < 0 || s.LimitKM > 20000 {
		return bad("seals.limit_km", "must be 0..20000 km (got %v)", s.LimitKM)
	}
	if len(s.Partners) == 0 {
		return bad("seals.partners", "an operator needs at least one partner")
	}
	seen := map[string]bool{}
	for i := range s.Partners {
		p := &s.Partners[i]
		key := func(k string) string { return fmt.Sprintf("seals.partners[%d].%s", i, k) }
		if !sealOperatorPattern.MatchString(p.ID) {
			return bad(key("id"), opHelp, p.ID)
		}
		if p.ID == s.Operator {
			return bad(key("id"), "%s is this operator: a message is never sent to oneself", p.ID)
		}
		if seen[p.ID] {
			return bad(key("id"), "%s is listed twice", p.ID)
		}
		seen[p.ID] = true
		country, _, _ := strings.Cut(p.ID, ".")
		if p.Country == "" {
			p.Country = country
		}
		if p.Country != country {
			return bad(key("country"), "%s's member state is %s, its ID's prefix (got %q)", p.ID, country, p.Country)
		}
		if u, err := url.Parse(p.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			return bad(key("url"), "must be an https:// URL of the partner's exchange (got %q)", p.URL)
		}
		if p.CA == "" {
			return bad(key("ca"), "required: the CA that issues %s's certificates", p.ID)
		}
		if len(p.Roles) == 0 {
			return bad(key("roles"), "give at least one of national, tracking, transit")
		}
		for j, r := range p.Roles {
			if !SealRoles[r] {
				return bad(fmt.Sprintf("%s[%d]", key("roles"), j), "must be national, tracking or transit (got %q)", r)
			}
		}
	}
	return nil
}
