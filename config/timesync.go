package config

import (
	"net"
	"strconv"
	"strings"
	"time"
)

// Time is how the node checks its clock (NVMS-6.2): the NTP servers it
// asks, how often, and the offset beyond which clock_unsynchronised is
// raised. No servers: the clock is checked only against the parent's
// (federation.max_clock_skew).
type Time struct {
	NTP       []string `yaml:"ntp"`        // host or host:port (123 by default)
	Interval  Duration `yaml:"interval"`   // between rounds (default 1m, 10s..1h)
	MaxOffset Duration `yaml:"max_offset"` // default 500ms (10ms..1h)
}

// Defaults of Time.
const (
	DefaultNTPInterval  = time.Minute
	DefaultNTPMaxOffset = 500 * time.Millisecond
)

func (t *Time) defaults() {
	if t.Interval == 0 {
		t.Interval = Duration(DefaultNTPInterval)
	}
	if t.MaxOffset == 0 {
		t.MaxOffset = Duration(DefaultNTPMaxOffset)
	}
}

func (c *Config) validateTime(bad func(key, format string, args ...any) error) error {
	t := c.Time
	if len(t.NTP) > 16 {
		return bad("time.ntp", "at most 16 servers (got %d)", len(t.NTP))
	}
	for _, s := range t.NTP {
		host, port := s, "123"
		if h, p, err := net.SplitHostPort(s); err == nil {
			host, port = h, p
		}
		n, err := strconv.Atoi(port)
		if host == "" || strings.ContainsAny(host, " /") || err != nil || n < 1 || n > 65535 {
			return bad("time.ntp", "%q is not host or host:port of an NTP server, e.g. ntp1.example.kz or 10.0.0.1:123", s)
		}
	}
	if d := t.Interval.Std(); d < 10*time.Second || d > time.Hour {
		return bad("time.interval", "must be 10s..1h (got %v)", d)
	}
	if d := t.MaxOffset.Std(); d < 10*time.Millisecond || d > time.Hour {
		return bad("time.max_offset", "must be 10ms..1h (got %v)", d)
	}
	return nil
}
