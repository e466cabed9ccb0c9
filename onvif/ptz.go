package onvif

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const nsPTZ = "http://www.onvif.org/ver20/ptz/wsdl"

// Position is where a PTZ head points: pan and tilt in -1..1, zoom in
// 0..1 (ONVIF's generic spaces).
type Position struct {
	Pan  float64 `json:"pan"`
	Tilt float64 `json:"tilt"`
	Zoom float64 `json:"zoom"`
}

// Check refuses coordinates outside the generic spaces, naming them.
func (p Position) Check(relative bool) error {
	lo := -1.0
	for _, c := range []struct {
		name string
		v    float64
		lo   float64
	}{{"pan", p.Pan, lo}, {"tilt", p.Tilt, lo}, {"zoom", p.Zoom, map[bool]float64{true: -1, false: 0}[relative]}} {
		if math.IsNaN(c.v) || c.v < c.lo || c.v > 1 {
			return inputErrorf("%s: %v is out of range %g..1", c.name, c.v, c.lo)
		}
	}
	return nil
}

// Preset is a stored position.
type Preset struct {
	Token string `json:"token"`
	Name  string `json:"name"`
}

// PTZ drives the PTZ service of a device for one profile.
type PTZ struct {
	c       *Client
	service string
	profile string
}

// PTZ returns the device's PTZ service for a profile; a device without
// one is an error naming it.
func (c *Client) PTZ(ctx context.Context, profile string) (*PTZ, error) {
	s, err := c.Capabilities(ctx)
	if err != nil {
		return nil, err
	}
	if s.PTZ == "" {
		return nil, fmt.Errorf("%s has no PTZ service: the camera cannot pan, tilt or zoom", c.Device)
	}
	return &PTZ{c: c, service: s.PTZ, profile: profile}, nil
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

func (p *PTZ) vector(tag string, v Position) string {
	return `<tptz:` + tag + `><tt:PanTilt x="` + f(v.Pan) + `" y="` + f(v.Tilt) + `"/><tt:Zoom x="` + f(v.Zoom) + `"/></tptz:` + tag + `>`
}

func (p *PTZ) token() string {
	return `<tptz:ProfileToken>` + xmlText(p.profile) + `</tptz:ProfileToken>`
}

func (p *PTZ) do(ctx context.Context, action, inner string, v any) error {
	body := `<tptz:` + action + ` xmlns:tptz="` + nsPTZ + `">` + inner + `</tptz:` + action + `>`
	return p.c.call(ctx, p.service, nsPTZ+"/"+action, body, v)
}

// Move starts a continuous move at a velocity (each in -1..1); the head
// moves until Stop or the device's own timeout.
func (p *PTZ) Move(ctx context.Context, v Position) error {
	if err := v.Check(true); err != nil {
		return err
	}
	return p.do(ctx, "ContinuousMove", p.token()+p.vector("Velocity", v), nil)
}

// Stop stops any move.
func (p *PTZ) Stop(ctx context.Context) error {
	return p.do(ctx, "Stop", p.token()+`<tptz:PanTilt>true</tptz:PanTilt><tptz:Zoom>true</tptz:Zoom>`, nil)
}

// Absolute moves to a position.
func (p *PTZ) Absolute(ctx context.Context, to Position) error {
	if err := to.Check(false); err != nil {
		return err
	}
	return p.do(ctx, "AbsoluteMove", p.token()+p.vector("Position", to), nil)
}

// Relative moves by a translation.
func (p *PTZ) Relative(ctx context.Context, by Position) error {
	if err := by.Check(true); err != nil {
		return err
	}
	return p.do(ctx, "RelativeMove", p.token()+p.vector("Translation", by), nil)
}

// Status is where the head points now.
func (p *PTZ) Status(ctx context.Context) (Position, error) {
	var r struct {
		PT *struct {
			X float64 `xml:"x,attr"`
			Y float64 `xml:"y,attr"`
		} `xml:"GetStatusResponse>PTZStatus>Position>PanTilt"`
		Z *struct {
			X float64 `xml:"x,attr"`
		} `xml:"GetStatusResponse>PTZStatus>Position>Zoom"`
	}
	if err := p.do(ctx, "GetStatus", p.token(), &r); err != nil {
		return Position{}, err
	}
	if r.PT == nil {
		return Position{}, fmt.Errorf("GetStatus at %s: no position: %w", p.service, errEmpty)
	}
	pos := Position{Pan: r.PT.X, Tilt: r.PT.Y}
	if r.Z != nil {
		pos.Zoom = r.Z.X
	}
	return pos, nil
}

// Presets lists the stored positions.
func (p *PTZ) Presets(ctx context.Context) ([]Preset, error) {
	var r struct {
		Presets []struct {
			Token string `xml:"token,attr"`
			Name  string `xml:"Name"`
		} `xml:"GetPresetsResponse>Preset"`
	}
	if err := p.do(ctx, "GetPresets", p.token(), &r); err != nil {
		return nil, err
	}
	out := []Preset{}
	for _, x := range r.Presets {
		if x.Token != "" && len(x.Token) <= 64 {
			out = append(out, Preset{Token: x.Token, Name: strings.TrimSpace(x.Name)})
		}
	}
	return out, nil
}

// Goto moves to a preset.
func (p *PTZ) Goto(ctx context.Context, preset string) error {
	if preset == "" || len(preset) > 64 {
		return inputErrorf("preset: %q is not a preset token", preset)
	}
	return p.do(ctx, "GotoPreset", p.token()+`<tptz:PresetToken>`+xmlText(preset)+`</tptz:PresetToken>`, nil)
}

// SetPreset stores the current position under a name and returns its token.
func (p *PTZ) SetPreset(ctx context.Context, name string) (string, error) {
	if name == "" || len(name) > 64 {
		return "", inputErrorf("name: a preset needs a name of 1–64 characters")
	}
	var r struct {
		Token string `xml:"SetPresetResponse>PresetToken"`
	}
	if err := p.do(ctx, "SetPreset", p.token()+`<tptz:PresetName>`+xmlText(name)+`</tptz:PresetName>`, &r); err != nil {
		return "", err
	}
	if r.Token == "" {
		return "", fmt.Errorf("SetPreset at %s: no token: %w", p.service, errEmpty)
	}
	return strings.TrimSpace(r.Token), nil
}
