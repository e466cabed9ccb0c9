package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
)

// Plugin is one analytics plugin the node starts (docs/plugins.md).
type Plugin struct {
	Name    string       `yaml:"name"`
	Command string       `yaml:"command"`
	Args    []string     `yaml:"args"`
	Env     []string     `yaml:"env"`     // NAME=value, beside the protocol's own variables
	Cameras []string     `yaml:"cameras"` // the only cameras it sees
	Frames  PluginFrames `yaml:"frames"`
	Events  []string     `yaml:"events"` // kinds it may subscribe to
	Limits  PluginLimits `yaml:"limits"`
	// Remote: it runs elsewhere and connects to plugins_listen with a
	// certificate of 'kuzet pki plugin' (no command, no env); with
	// Connect (host:port) the node dials its service there instead.
	Remote  bool   `yaml:"remote"`
	Connect string `yaml:"connect"`
}

// PluginFrames is the most a plugin gets of a camera's frames.
type PluginFrames struct {
	FPS    float64 `yaml:"fps"`    // default 1
	Width  int     `yaml:"width"`  // default 640
	Height int     `yaml:"height"` // default 360
	Format string  `yaml:"format"` // gray (default) | rgb24
	// Keyframes decodes only keyframes; Every keeps one frame in N.
	Keyframes bool `yaml:"keyframes"`
	Every     int  `yaml:"every"`
}

// PluginLimits bound what a plugin takes.
type PluginLimits struct {
	MemoryMB        int `yaml:"memory_mb"`         // writable data, default 1024
	Nice            int `yaml:"nice"`              // CPU priority under recording's, default 10
	EventsPerMinute int `yaml:"events_per_minute"` // default 120
	SnapshotKB      int `yaml:"snapshot_kb"`       // default 512
}

var pluginName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)

func (c *Config) validatePlugins(bad func(key, format string, args ...any) error) error {
	seen := map[string]bool{}
	for i, p := range c.Plugins {
		key := func(f string) string { return fmt.Sprintf("plugins[%d].%s", i, f) }
		switch {
		case !pluginName.MatchString(p.Name):
			return bad(key("name"), "letters, digits, - and _, at most 40 (got %q)", p.Name)
		case seen[p.Name]:
			return bad(key("name"), "%q is used twice", p.Name)
		case p.Command == "" && !p.Remote:
			return bad(key("command"), "required: the program to start (or remote: true for one that connects from elsewhere)")
		case p.Remote && (p.Command != "" || len(p.Env) > 0):
			return bad(key("remote"), "a remote plugin runs elsewhere: no command or env")
		case p.Connect != "" && !p.Remote:
			return bad(key("connect"), "only a remote plugin is dialled (remote: true)")
		case p.Connect != "" && !hostPort(p.Connect):
			return bad(key("connect"), "must be host:port (got %q)", p.Connect)
		case p.Connect != "" && (c.Federation.TLS.CA == "" || c.Federation.TLS.Cert == "" || c.Federation.TLS.Key == ""):
			return bad(key("connect"), "the node dials a plugin's service with its federation.tls certificate, which is not set")
		case p.Remote && p.Connect == "" && c.PluginsListen == "":
			return bad(key("remote"), "remote plugins connect to plugins_listen, which is not set (or give connect: host:port to dial the plugin)")
		}
		seen[p.Name] = true
		// cameras may come from the catalogue too: one that is not there
		// only has no frames
		for _, cam := range p.Cameras {
			if !idPattern.MatchString(cam) {
				return bad(key("cameras"), "%q is not a camera ID", cam)
			}
		}
		for j, e := range p.Env {
			if name, _, ok := strings.Cut(e, "="); !ok || name == "" || strings.HasPrefix(name, "KUZET_PLUGIN_") {
				return bad(fmt.Sprintf("plugins[%d].env[%d]", i, j), "NAME=value, not a KUZET_PLUGIN_ name (got %q)", e)
			}
		}
		if f := p.Frames.Format; f != "" && f != "gray" && f != "rgb24" {
			return bad(key("frames.format"), "gray or rgb24 (got %q)", f)
		}
		if e := p.Frames.Every; e < 0 || e > 250 || (e > 1 && p.Frames.Keyframes) {
			return bad(key("frames.every"), "one frame in 1 to 250, and not with keyframes (got %d)", e)
		}
	}
	if c.PluginsListen != "" {
		if _, err := netip.ParseAddrPort(c.PluginsListen); err != nil {
			return bad("plugins_listen", "must be address:port, e.g. 0.0.0.0:7450 (got %q)", c.PluginsListen)
		}
		t := c.Federation.TLS
		for _, kv := range [][2]string{{"federation.tls.ca", t.CA}, {"federation.tls.cert", t.Cert}, {"federation.tls.key", t.Key}} {
			if kv[1] == "" {
				return bad(kv[0], "required when plugins_listen is set: remote plugins and the node know each other by the federation CA")
			}
		}
	}
	return nil
}

// hostPort reports whether s is host:port with a port.
func hostPort(s string) bool {
	h, port, err := net.SplitHostPort(s)
	return err == nil && h != "" && port != ""
}
