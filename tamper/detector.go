package tamper

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
)

// Kind is a tamper condition.
type Kind string

// The conditions, in the order they are judged: a covered or blinded
// camera shows nothing to judge focus or aim by, and a blurred picture
// cannot be compared with the sharp reference.
const (
	Covered   Kind = "covered"
	Blinded   Kind = "blinded"
	Defocused Kind = "defocused"
	Moved     Kind = "moved"
)

// Kinds lists every condition in judging order.
func Kinds() []Kind { return []Kind{Covered, Blinded, Defocused, Moved} }

func (k Kind) valid() bool {
	switch k {
	case Covered, Blinded, Defocused, Moved:
		return true
	}
	return false
}

// AlarmType is the alarm type raised for k, e.g. "tamper_covered".
func (k Kind) AlarmType() string { return "tamper_" + string(k) }

// AlarmKey is the alarm key for k on camera, e.g. "tamper_covered:Camera1".
func (k Kind) AlarmKey(camera string) string { return k.AlarmType() + ":" + camera }

// Severity is the alarm severity of each condition: a covered lens is
// sabotage until proven otherwise; a blurred one can wait for daylight.
func (k Kind) Severity() event.Severity {
	switch k {
	case Covered:
		return event.SeverityGrave
	case Defocused:
		return event.SeverityMinor
	}
	return event.SeverityMedium
}

// Payload is the payload of tamper alarms: event.Alarm's fields and the
// evidence.
type Payload struct {
	Key      string    `json:"key"`
	Type     string    `json:"type"`
	Message  string    `json:"message"`
	Since    time.Time `json:"since,omitzero"`     // first frame of the condition
	Snapshot string    `json:"snapshot,omitempty"` // JPEG under the snapshot directory
}

// Observation is what one analysed frame showed.
type Observation struct {
	Time time.Time `json:"time"`
	// Luma percentiles and the share of near-white pixels.
	P5     float64 `json:"p5"`
	P50    float64 `json:"p50"`
	P95    float64 `json:"p95"`
	Bright float64 `json:"bright"`
	// Sharpness and Match relative to their learned baselines (0 while
	// learning or not judged).
	Sharpness float64 `json:"sharpness"`
	Match     float64 `json:"match"`
	Learning  bool    `json:"learning"`
	// Conditions seen in this frame, and the alarms raised after it.
	Conditions []Kind `json:"conditions"`
	Raised     []Kind `json:"raised"`
}

// DetectorOptions wire a detector to the node.
type DetectorOptions struct {
	Events event.Emitter // alarms go here (nil: none)
	// StateFile keeps the learned reference and raised alarms across
	// restarts ("" : learned afresh on every start).
	StateFile string
	// SnapshotDir receives a JPEG of the frame that raised an alarm
	// ("": none); the payload names it relative to this directory.
	SnapshotDir string
	Logger      *slog.Logger
	// OnObserve, if set, sees every analysed frame (diagnostics).
	OnObserve func(Observation)
	metrics   *metrics
}

// Detector judges one camera's frames. Observe is called from one
// goroutine; the other methods may be called from any.
type Detector struct {
	camera string
	cfg    Config
	o      DetectorOptions

	mu     sync.Mutex
	ref    *reference
	state  map[Kind]*streak
	last   time.Time
	saved  time.Time
	latest Observation
}

// streak tracks one condition over consecutive frames.
type streak struct {
	raised time.Time // when its alarm was raised; zero while not raised
	bad    time.Time // first frame of the current run of bad frames
	good   time.Time // first frame of the current run of good frames, while raised
}

// minBaseline is the least sharpness or usual match a reference needs for
// focus or aim to be judged against it.
const minBaseline = 0.02

// saveEvery is how often the adapting reference is written out.
const saveEvery = 10 * time.Minute

// NewDetector prepares a detector for camera, restoring its state file if
// there is one. A state file that cannot be read is set aside (renamed
// .bad) and the scene learned again.
func NewDetector(camera string, cfg Config, o DetectorOptions) (*Detector, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("camera %s: %w", camera, err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.metrics == nil {
		o.metrics = newMetrics(nil)
	}
	d := &Detector{camera: camera, cfg: cfg, o: o, state: map[Kind]*streak{}}
	for _, k := range Kinds() {
		d.state[k] = &streak{}
	}
	if o.StateFile != "" {
		b, err := os.ReadFile(o.StateFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("camera %s: read tamper state: %w", camera, err)
		default:
			ref, raised, err := decodeState(b, camera)
			if err != nil {
				o.Logger.Warn("tamper state unreadable; set aside, learning the scene again",
					"file", o.StateFile, "err", err)
				if rerr := os.Rename(o.StateFile, o.StateFile+".bad"); rerr != nil {
					return nil, fmt.Errorf("camera %s: set aside tamper state: %w", camera, rerr)
				}
				break
			}
			d.ref = ref
			for k, t := range raised {
				d.state[k].raised = t
				o.metrics.active.WithLabelValues(camera, string(k)).Set(1)
			}
		}
	}
	return d, nil
}

// Camera is the camera this detector judges.
func (d *Detector) Camera() string { return d.camera }

// Observe judges one frame taken at at (frames must come in time order).
func (d *Detector) Observe(img *image.RGBA, at time.Time) Observation {
	obs := d.observe(img, at)
	if d.o.OnObserve != nil {
		d.o.OnObserve(obs)
	}
	return obs
}

func (d *Detector) observe(img *image.RGBA, at time.Time) Observation {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.o.metrics.frames.WithLabelValues(d.camera).Inc()
	obs := Observation{Time: at}
	f := extract(img, d.cfg.BlindLuma)
	if f == nil {
		d.o.Logger.Warn("frame too small for tamper analysis", "width", img.Rect.Dx(), "height", img.Rect.Dy())
		return obs
	}
	obs.P5, obs.P50, obs.P95, obs.Bright = f.p5, f.p50, f.p95, f.bright

	// a pause longer than a condition must persist breaks every run:
	// nothing is known about what happened meanwhile
	if !d.last.IsZero() && at.Sub(d.last) > max(d.cfg.Persist, d.cfg.Recover, 10*time.Second) {
		for _, s := range d.state {
			s.bad, s.good = time.Time{}, time.Time{}
		}
	}
	d.last = at

	cond := map[Kind]bool{}
	judged := map[Kind]bool{Covered: true, Blinded: true}
	cond[Covered] = f.p95 <= d.cfg.CoverLuma && f.p95-f.p5 <= d.cfg.CoverSpread
	cond[Blinded] = !cond[Covered] && f.bright >= d.cfg.BlindShare
	share := 0.0
	if !cond[Covered] && !cond[Blinded] {
		switch {
		case d.ref == nil || !d.ref.fits(f):
			if d.ref != nil {
				d.o.Logger.Info("frame size changed; learning the scene again", "camera", d.camera)
			}
			d.ref = newReference(f, at)
			obs.Learning = true
		case !d.ref.learned:
			obs.Learning = true
			if d.ref.learn(f, at, d.cfg.Learn) {
				d.o.Logger.Info("tamper reference learned", "camera", d.camera,
					"sharpness", d.ref.sharp, "match", d.ref.match)
				d.save(at)
			}
		default:
			// a scene without detail or texture gives nothing to judge
			// focus or aim by
			if d.ref.sharp > minBaseline {
				judged[Defocused] = true
				obs.Sharpness = f.sharpness / d.ref.sharp
				cond[Defocused] = obs.Sharpness < d.cfg.DefocusRatio
			}
			share = matchShare(f.edges, d.ref.edges, d.ref.w, d.ref.h)
			if !cond[Defocused] && d.ref.match > minBaseline {
				judged[Moved] = true
				obs.Match = share / d.ref.match
				cond[Moved] = obs.Match < d.cfg.MoveRatio
			}
		}
	}
	if obs.Sharpness > 0 {
		d.o.metrics.sharpness.WithLabelValues(d.camera).Set(obs.Sharpness)
	}
	if judged[Moved] {
		d.o.metrics.match.WithLabelValues(d.camera).Set(obs.Match)
	}

	anyCond, anyRaised := false, false
	for _, k := range Kinds() {
		if cond[k] {
			obs.Conditions = append(obs.Conditions, k)
			anyCond = true
		}
		if !judged[k] {
			continue // unknown this frame: its runs neither grow nor break
		}
		d.step(k, cond[k], img, at, f, obs)
	}
	for _, k := range Kinds() {
		if !d.state[k].raised.IsZero() {
			obs.Raised = append(obs.Raised, k)
			anyRaised = true
		}
	}
	if !anyCond && !anyRaised && d.ref != nil && d.ref.learned {
		d.ref.adapt(f, share, at, d.cfg.Adapt)
		if at.Sub(d.saved) >= saveEvery {
			d.save(at)
		}
	}
	d.latest = obs
	return obs
}

// step advances one condition's runs and raises or clears its alarm.
func (d *Detector) step(k Kind, bad bool, img *image.RGBA, at time.Time, f *features, obs Observation) {
	s := d.state[k]
	if bad {
		s.good = time.Time{}
		if s.bad.IsZero() {
			s.bad = at
		}
		if s.raised.IsZero() && at.Sub(s.bad) >= d.cfg.Persist {
			s.raised = at
			d.raise(k, s.bad, at, img, f, obs)
		}
		return
	}
	s.bad = time.Time{}
	if s.raised.IsZero() {
		return
	}
	if s.good.IsZero() {
		s.good = at
	}
	if at.Sub(s.good) >= d.cfg.Recover {
		s.raised, s.good = time.Time{}, time.Time{}
		d.clear(k, at, fmt.Sprintf("camera %s is no longer %s", d.camera, describe(k)))
	}
}

func describe(k Kind) string {
	switch k {
	case Defocused:
		return "out of focus"
	}
	return string(k)
}

func (d *Detector) raise(k Kind, since, at time.Time, img *image.RGBA, f *features, obs Observation) {
	var msg string
	switch k {
	case Covered:
		msg = fmt.Sprintf("camera %s covered: the picture is dark and flat (95%% under luma %.0f, spread %.0f)",
			d.camera, f.p95, f.p95-f.p5)
	case Blinded:
		msg = fmt.Sprintf("camera %s blinded: %.0f%% of the picture is near white", d.camera, 100*f.bright)
	case Defocused:
		msg = fmt.Sprintf("camera %s out of focus or dirty: sharpness at %.0f%% of its usual level",
			d.camera, 100*obs.Sharpness)
	case Moved:
		msg = fmt.Sprintf("camera %s moved: the scene no longer matches the learned view (%.0f%% of the usual match)",
			d.camera, 100*obs.Match)
	}
	msg += fmt.Sprintf(" for %v", at.Sub(since).Round(time.Second))
	p := Payload{Key: k.AlarmKey(d.camera), Type: k.AlarmType(), Message: msg, Since: since.UTC()}
	if d.o.SnapshotDir != "" {
		if rel, err := d.snapshot(k, at, img); err != nil {
			d.o.Logger.Error("store tamper snapshot", "camera", d.camera, "kind", k, "err", err)
		} else {
			p.Snapshot = rel
		}
	}
	d.o.Logger.Warn("tamper alarm", "camera", d.camera, "kind", k, "message", msg)
	d.o.metrics.active.WithLabelValues(d.camera, string(k)).Set(1)
	d.emit(event.KindAlarmRaised, k.Severity(), at, p)
	d.save(at)
}

func (d *Detector) clear(k Kind, at time.Time, msg string) {
	d.o.Logger.Info("tamper alarm cleared", "camera", d.camera, "kind", k)
	d.o.metrics.active.WithLabelValues(d.camera, string(k)).Set(0)
	d.emit(event.KindAlarmCleared, event.SeverityInfo, at,
		Payload{Key: k.AlarmKey(d.camera), Type: k.AlarmType(), Message: msg})
	d.save(at)
}

func (d *Detector) emit(kind string, sev event.Severity, at time.Time, p Payload) {
	if d.o.Events == nil {
		return
	}
	e := event.New(kind, d.camera, sev, p)
	e.Time = at.UTC()
	if _, err := d.o.Events.Append(e); err != nil {
		d.o.Logger.Error("store tamper alarm", "camera", d.camera, "type", p.Type, "err", err)
	}
}

// snapshot writes the frame as JPEG and returns its path under SnapshotDir.
func (d *Detector) snapshot(k Kind, at time.Time, img *image.RGBA) (string, error) {
	u := at.UTC()
	rel := filepath.ToSlash(filepath.Join(safeName(d.camera), u.Format("2006/01/02"),
		fmt.Sprintf("%s_tamper_%s.jpg", u.Format("150405.000"), k)))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return "", err
	}
	if err := writeFileAtomic(filepath.Join(d.o.SnapshotDir, filepath.FromSlash(rel)), buf.Bytes()); err != nil {
		return "", err
	}
	return rel, nil
}

// save writes the state file; failures are logged, detection goes on.
func (d *Detector) save(at time.Time) {
	d.saved = at
	if d.o.StateFile == "" {
		return
	}
	raised := map[Kind]time.Time{}
	for k, s := range d.state {
		if !s.raised.IsZero() {
			raised[k] = s.raised
		}
	}
	ref := d.ref
	if ref != nil && !ref.learned {
		ref = nil
	}
	b, err := encodeState(d.camera, ref, raised, at)
	if err == nil {
		err = writeFileAtomic(d.o.StateFile, b)
	}
	if err != nil {
		d.o.Logger.Error("store tamper state", "camera", d.camera, "file", d.o.StateFile, "err", err)
	}
}

// Relearn forgets the reference scene, after the camera has been aimed
// anew on purpose: the moved and defocused alarms are cleared and the
// scene is learned again from the next good frames.
func (d *Detector) Relearn(at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ref = nil
	for _, k := range []Kind{Moved, Defocused} {
		s := d.state[k]
		s.bad, s.good = time.Time{}, time.Time{}
		if !s.raised.IsZero() {
			s.raised = time.Time{}
			d.clear(k, at, fmt.Sprintf("camera %s: the scene is being learned anew", d.camera))
		}
	}
	d.save(at)
}

// Status is a detector's state for the API.
type Status struct {
	Camera  string      `json:"camera"`
	Learned bool        `json:"learned"`
	Raised  []Kind      `json:"raised"`
	Last    Observation `json:"last"`
}

// Status reports the detector's state.
func (d *Detector) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := Status{Camera: d.camera, Learned: d.ref != nil && d.ref.learned, Last: d.latest, Raised: []Kind{}}
	for _, k := range Kinds() {
		if !d.state[k].raised.IsZero() {
			st.Raised = append(st.Raised, k)
		}
	}
	return st
}

// Close writes the state file one last time.
func (d *Detector) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	at := d.last
	if at.IsZero() {
		return
	}
	d.save(at)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
