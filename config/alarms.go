package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Alarms configures the alarm table (docs/alarms.md).
type Alarms struct {
	Severity map[string]string   `yaml:"severity"` // per alarm type: grave | medium | minor
	Dedupe   Duration            `yaml:"dedupe"`   // 0: default 1m; negative: off
	Suppress Duration            `yaml:"suppress"` // 0: default 5m; negative: off
	Escalate map[string]Duration `yaml:"escalate"` // per severity; empty: defaults
	Keep     Duration            `yaml:"keep"`     // cleared alarms kept (default 720h)
	Webhook  AlarmWebhook        `yaml:"webhook"`
}

// AlarmWebhook is notified of every alarm change.
type AlarmWebhook struct {
	URL        string   `yaml:"url"`
	AuthHeader string   `yaml:"auth_header"`
	Timeout    Duration `yaml:"timeout"`
}

// Tamper turns camera tamper detection on (docs/alarms.md); zero values
// take the defaults for a fixed outdoor camera.
type Tamper struct {
	Enabled      bool     `yaml:"enabled"`
	FPS          float64  `yaml:"fps"` // 0: keyframes only
	Persist      Duration `yaml:"persist"`
	Recover      Duration `yaml:"recover"`
	Learn        Duration `yaml:"learn"`
	Adapt        Duration `yaml:"adapt"`
	CoverLuma    float64  `yaml:"cover_luma"`
	CoverSpread  float64  `yaml:"cover_spread"`
	BlindLuma    float64  `yaml:"blind_luma"`
	BlindShare   float64  `yaml:"blind_share"`
	MoveRatio    float64  `yaml:"move_ratio"`
	DefocusRatio float64  `yaml:"defocus_ratio"`
}

func validSeverity(s string) bool { return s == "grave" || s == "medium" || s == "minor" }

func (c *Config) validateAlarms(bad func(key, format string, args ...any) error) error {
	a := c.Alarms
	for typ, sev := range a.Severity {
		if !validSeverity(sev) {
			return bad("alarms.severity."+typ, "must be grave, medium or minor (got %q)", sev)
		}
	}
	for sev, d := range a.Escalate {
		if !validSeverity(sev) {
			return bad("alarms.escalate."+sev, "names no severity: use grave, medium or minor")
		}
		if d < 0 || (d != 0 && d.Std() < time.Second) {
			return bad("alarms.escalate."+sev, "must be at least 1s (got %v)", d.Std())
		}
	}
	if u := a.Webhook.URL; u != "" {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return bad("alarms.webhook.url", "must be an http:// or https:// URL (got %q)", u)
		}
	}
	if h := a.Webhook.AuthHeader; h != "" && !strings.Contains(h, ":") {
		return bad("alarms.webhook.auth_header", "must be \"Name: value\"")
	}
	for i, cam := range c.Cameras {
		t := cam.Tamper
		key := func(k string) string { return fmt.Sprintf("cameras[%d].tamper.%s", i, k) }
		if t.FPS < 0 || t.FPS > 10 {
			return bad(key("fps"), "must be 0 (keyframes) to 10 (camera %s, got %v)", cam.ID, t.FPS)
		}
		for k, v := range map[string]float64{"blind_share": t.BlindShare, "move_ratio": t.MoveRatio, "defocus_ratio": t.DefocusRatio} {
			if v < 0 || v > 1 {
				return bad(key(k), "must be between 0 and 1 (camera %s, got %v)", cam.ID, v)
			}
		}
		for k, v := range map[string]float64{"cover_luma": t.CoverLuma, "cover_spread": t.CoverSpread, "blind_luma": t.BlindLuma} {
			if v < 0 || v > 255 {
				return bad(key(k), "must be between 0 and 255 (camera %s, got %v)", cam.ID, v)
			}
		}
	}
	return nil
}
