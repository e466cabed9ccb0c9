package plugin

import (
	"fmt"
	"regexp"
	"slices"
)

// Spec is one configured plugin.
type Spec struct {
	Name    string
	Command string
	Args    []string
	Env     []string // NAME=value, beside the protocol's own
	Cameras []string // granted: the only cameras whose frames and archive it sees
	Frames  FrameSpec
	Events  []string // kinds it may subscribe to
	Limits  Limits
	// Remote: it runs elsewhere and connects over mutual TLS with a
	// certificate naming this node and it (no Command, no Env); with
	// Connect (host:port), the node dials it there instead.
	Remote  bool
	Connect string
}

// FrameSpec is the most a plugin gets of a camera's frames.
type FrameSpec struct {
	FPS    float64 `json:"fps"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Format string  `json:"format"` // gray | rgb24
	// Keyframes: only the stream's keyframes are decoded (cheapest: a
	// scene every second or two). Every N keeps one decoded frame in N
	// (0 or 1: all). The rate limit applies on top of either.
	Keyframes bool `json:"keyframes,omitempty"`
	Every     int  `json:"every,omitempty"`
}

// Limits bound what a plugin may take.
type Limits struct {
	MemoryMB        int `json:"memory_mb"`
	Nice            int `json:"nice"`
	EventsPerMinute int `json:"events_per_minute"`
	SnapshotKB      int `json:"snapshot_kb"`
}

// Formats of frames.
const (
	FormatGray  = "gray"
	FormatRGB24 = "rgb24"
)

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)
	kindPattern = regexp.MustCompile(`^[a-z0-9_]{1,40}$`)
)

// Defaults fill what the configuration left out.
func (s *Spec) Defaults() {
	if s.Frames.FPS == 0 {
		s.Frames.FPS = 1
	}
	if s.Frames.Width == 0 || s.Frames.Height == 0 {
		s.Frames.Width, s.Frames.Height = 640, 360
	}
	if s.Frames.Format == "" {
		s.Frames.Format = FormatGray
	}
	if s.Limits.MemoryMB == 0 {
		s.Limits.MemoryMB = 1024
	}
	if s.Limits.Nice == 0 {
		s.Limits.Nice = 10
	}
	if s.Limits.EventsPerMinute == 0 {
		s.Limits.EventsPerMinute = 120
	}
	if s.Limits.SnapshotKB == 0 {
		s.Limits.SnapshotKB = 512
	}
}

// Check says what is wrong with a spec, naming the field.
func (s Spec) Check() error {
	switch {
	case !namePattern.MatchString(s.Name):
		return fmt.Errorf("name %q: letters, digits, - and _, at most 40", s.Name)
	case s.Command == "" && !s.Remote:
		return fmt.Errorf("command: required")
	case s.Remote && (s.Command != "" || len(s.Env) > 0):
		return fmt.Errorf("remote: a remote plugin runs elsewhere: no command or env")
	case s.Connect != "" && !s.Remote:
		return fmt.Errorf("connect: only a remote plugin is dialled")
	case s.Frames.FPS < 0 || s.Frames.FPS > 30:
		return fmt.Errorf("frames.fps %v: between 0 and 30", s.Frames.FPS)
	case s.Frames.Width < 16 || s.Frames.Height < 16 || s.Frames.Width > 3840 || s.Frames.Height > 2160 || s.Frames.Width%2 != 0 || s.Frames.Height%2 != 0:
		return fmt.Errorf("frames.width and height %dx%d: even, from 16x16 to 3840x2160", s.Frames.Width, s.Frames.Height)
	case s.Frames.Format != FormatGray && s.Frames.Format != FormatRGB24:
		return fmt.Errorf("frames.format %q: gray or rgb24", s.Frames.Format)
	case s.Frames.Every < 0 || s.Frames.Every > 250:
		return fmt.Errorf("frames.every %d: 1 to 250", s.Frames.Every)
	case s.Frames.Keyframes && s.Frames.Every > 1:
		return fmt.Errorf("frames.keyframes and frames.every: one or the other")
	case s.Limits.MemoryMB < 128:
		// runtimes map their heaps' bookkeeping and thread stacks at start
		return fmt.Errorf("limits.memory_mb %d: at least 128", s.Limits.MemoryMB)
	case s.Limits.Nice < 0 || s.Limits.Nice > 19:
		return fmt.Errorf("limits.nice %d: 0 to 19", s.Limits.Nice)
	case s.Limits.EventsPerMinute < 1:
		return fmt.Errorf("limits.events_per_minute %d: at least 1", s.Limits.EventsPerMinute)
	case s.Limits.SnapshotKB < 1 || s.Limits.SnapshotKB > 16<<10:
		return fmt.Errorf("limits.snapshot_kb %d: 1 to 16384", s.Limits.SnapshotKB)
	}
	return nil
}

func (s Spec) grants(camera string) bool { return slices.Contains(s.Cameras, camera) }
