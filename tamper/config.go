package tamper

import (
	"fmt"
	"time"
)

// Config tunes tamper detection for one camera. Zero fields take the
// defaults of Defaults.
type Config struct {
	// FPS is how many frames a second are analysed. 0 analyses keyframes
	// only (one a second with the usual 1 s GOP), which is cheapest by far:
	// ffmpeg then decodes nothing else.
	FPS float64
	// Persist is how long a condition must hold, on every analysed frame,
	// before its alarm is raised; Recover how long the scene must be good
	// again before it clears.
	Persist time.Duration
	Recover time.Duration
	// Learn is how long the reference scene and the sharpness baseline are
	// learned from good frames before moves and focus are judged.
	Learn time.Duration
	// Adapt is the time constant with which the reference follows slow
	// changes of the scene (seasons, parked vehicles) while no alarm holds.
	Adapt time.Duration

	// Covered: 95 % of the picture darker than CoverLuma (0..255) and the
	// spread between its 5th and 95th luma percentiles under CoverSpread.
	CoverLuma   float64
	CoverSpread float64
	// Blinded: at least BlindShare of the picture at or above BlindLuma.
	BlindLuma  float64
	BlindShare float64
	// Moved: the share of textured cells whose edges still match the
	// reference falls under MoveRatio times its usual level.
	MoveRatio float64
	// Defocused: sharpness falls under DefocusRatio times its baseline.
	DefocusRatio float64
}

// Defaults returns the settings for a fixed outdoor camera.
func Defaults() Config {
	return Config{
		Persist:      30 * time.Second,
		Recover:      30 * time.Second,
		Learn:        2 * time.Minute,
		Adapt:        30 * time.Minute,
		CoverLuma:    50,
		CoverSpread:  16,
		BlindLuma:    230,
		BlindShare:   0.6,
		MoveRatio:    0.5,
		DefocusRatio: 0.35,
	}
}

// WithDefaults fills zero fields from Defaults.
func (c Config) WithDefaults() Config {
	d := Defaults()
	set := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setD(&c.Persist, d.Persist)
	setD(&c.Recover, d.Recover)
	setD(&c.Learn, d.Learn)
	setD(&c.Adapt, d.Adapt)
	set(&c.CoverLuma, d.CoverLuma)
	set(&c.CoverSpread, d.CoverSpread)
	set(&c.BlindLuma, d.BlindLuma)
	set(&c.BlindShare, d.BlindShare)
	set(&c.MoveRatio, d.MoveRatio)
	set(&c.DefocusRatio, d.DefocusRatio)
	return c
}

// Validate names the first setting out of range (after WithDefaults).
func (c Config) Validate() error {
	switch {
	case c.FPS < 0 || c.FPS > 25:
		return fmt.Errorf("tamper.fps: %v must be 0 (keyframes only) to 25", c.FPS)
	case c.Persist < time.Second || c.Persist > time.Hour:
		return fmt.Errorf("tamper.persist: %v must be 1s to 1h", c.Persist)
	case c.Recover < time.Second || c.Recover > time.Hour:
		return fmt.Errorf("tamper.recover: %v must be 1s to 1h", c.Recover)
	case c.Learn < time.Second || c.Learn > 24*time.Hour:
		return fmt.Errorf("tamper.learn: %v must be 1s to 24h", c.Learn)
	case c.Adapt < time.Minute || c.Adapt > 30*24*time.Hour:
		return fmt.Errorf("tamper.adapt: %v must be 1m to 720h", c.Adapt)
	case c.CoverLuma <= 0 || c.CoverLuma >= 255:
		return fmt.Errorf("tamper.cover_luma: %v must be between 0 and 255", c.CoverLuma)
	case c.CoverSpread <= 0 || c.CoverSpread >= 255:
		return fmt.Errorf("tamper.cover_spread: %v must be between 0 and 255", c.CoverSpread)
	case c.BlindLuma <= 0 || c.BlindLuma > 255:
		return fmt.Errorf("tamper.blind_luma: %v must be between 0 and 255", c.BlindLuma)
	case c.BlindShare <= 0 || c.BlindShare > 1:
		return fmt.Errorf("tamper.blind_share: %v must be a fraction in (0, 1]", c.BlindShare)
	case c.MoveRatio <= 0 || c.MoveRatio >= 1:
		return fmt.Errorf("tamper.move_ratio: %v must be a fraction in (0, 1)", c.MoveRatio)
	case c.DefocusRatio <= 0 || c.DefocusRatio >= 1:
		return fmt.Errorf("tamper.defocus_ratio: %v must be a fraction in (0, 1)", c.DefocusRatio)
	}
	return nil
}
