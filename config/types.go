package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as "5m", "30s" or "1h30m".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (use e.g. 30s, 5m, 1h)", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q must not be negative", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML prints the duration back in Go syntax.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Resolution is a frame size written as "1280x720".
type Resolution struct {
	Width, Height int
}

// UnmarshalYAML parses WIDTHxHEIGHT.
func (r *Resolution) UnmarshalYAML(n *yaml.Node) error {
	w, h, ok := strings.Cut(strings.ToLower(n.Value), "x")
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil || wi <= 0 || hi <= 0 || wi > 16384 || hi > 16384 {
		return fmt.Errorf("line %d: %q is not a resolution (use WIDTHxHEIGHT, e.g. 1280x720)", n.Line, n.Value)
	}
	*r = Resolution{Width: wi, Height: hi}
	return nil
}

// MarshalYAML prints WIDTHxHEIGHT.
func (r Resolution) MarshalYAML() (any, error) { return r.String(), nil }

func (r Resolution) String() string { return fmt.Sprintf("%dx%d", r.Width, r.Height) }

func sortStrings(s []string) { sort.Strings(s) }
