package agent

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/decode"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/media"
)

// plateConsumer feeds cameras with anpr.enabled to their analyzers; the
// settings are read when each session opens, so a camera changed in the
// catalogue takes its new ones with its restart.
func (a *Agent) plateConsumer() media.Consumer {
	return media.Consumer{
		Name: "anpr", Queue: 64,
		Open: func(camera string, tr media.Track, _ string) (media.Sink, error) {
			cam, ok := a.camera(camera)
			if !ok || !cam.ANPR.Enabled {
				return nil, nil
			}
			models, err := a.plateModels()
			if err != nil {
				return nil, err
			}
			return a.startAnalyzer(models, cam, tr)
		},
	}
}

// plateModels loads the recognition runtime and models once.
func (a *Agent) plateModels() (*anpr.Models, error) {
	a.camMu.Lock()
	defer a.camMu.Unlock()
	if a.models == nil && a.modelsErr == nil {
		a.models, a.modelsErr = anpr.LoadModels(a.cfg.ANPR.Models)
		if a.modelsErr != nil {
			a.modelsErr = fmt.Errorf("anpr.models: %w", a.modelsErr)
		}
	}
	return a.models, a.modelsErr
}

type plateSink struct {
	an    *anpr.Analyzer
	codec media.Codec
}

func (p *plateSink) WriteUnit(u *media.Unit) error {
	p.an.Push(u.NALUs, u.RandomAccess(p.codec), u.Time)
	return nil
}

func (p *plateSink) Close() error { return p.an.Close() }

func (a *Agent) startAnalyzer(models *anpr.Models, cam config.Camera, tr media.Track) (media.Sink, error) {
	w, h, ok := tr.Resolution()
	if !ok {
		return nil, fmt.Errorf("camera %s: plate reading needs the frame size, and the SDP carries no SPS", cam.ID)
	}
	every, streamFPS := 0, tr.FPS()
	if !cam.ANPR.Keyframes {
		every = max(1, int(math.Round(streamFPS/cam.ANPR.FPS)))
	}
	codec := "h264"
	if tr.Codec == media.H265 {
		codec = "hevc"
	}
	var roi image.Rectangle
	if r := cam.ANPR.ROI; len(r) == 4 {
		roi = image.Rect(r[0], r[1], r[0]+r[2], r[1]+r[3])
	}
	var axis struct{ X, Y float64 }
	switch cam.ANPR.Axis {
	case "down":
		axis.Y = 1
	case "up":
		axis.Y = -1
	case "right":
		axis.X = 1
	case "left":
		axis.X = -1
	}
	log := a.log.With("component", "anpr", "camera", cam.ID)
	an, err := anpr.StartAnalyzer(anpr.AnalyzerOptions{
		Camera: cam.ID, Models: models, ROI: roi,
		Recognizer: anpr.Options{Countries: cam.ANPR.Countries, ScanMaxSide: cam.ANPR.ScanSide},
		Tracker:    anpr.TrackerConfig{Axis: axis},
		Decoder:    decode.Options{Codec: codec, Every: every, Width: w, Height: h},
		OnPass:     func(s anpr.Snapshot) { a.plateRead(cam, s) },
		Logger:     log,
	}, tr.ParamNALUs())
	if err != nil {
		return nil, fmt.Errorf("camera %s: start plate reading: %w", cam.ID, err)
	}
	log.Info("plate reading on", "every_nth_frame", every, "width", w, "height", h)
	return &plateSink{an: an, codec: tr.Codec}, nil
}

// plateRead stores a pass's snapshots and its plate.read event: the
// camera's own pictures where its ANPR sent them, the node's frame for the
// rest.
func (a *Agent) plateRead(cam config.Camera, s anpr.Snapshot) {
	p := s.Pass
	at := p.BestAt
	if at.IsZero() {
		at = p.First
	}
	pr := anpr.PlateRead{
		Plate: p.Text, Country: p.Country, Confidence: p.Confidence, First: p.First.UTC(), Last: p.Last.UTC(),
		Frames: p.Frames, Candidates: p.Candidates, Direction: cam.Direction, Source: s.Source,
	}
	if cam.Direction == "auto" {
		pr.Direction = p.Direction
	}
	if rel, off, ok := a.archive.Locate(cam.ID, at); ok {
		pr.Archive, pr.ArchiveLink, pr.Offset = rel, archive.CGRLink(rel), off.Seconds()
	}
	local := at.In(a.loc)
	base := filepath.Join(cam.ID, local.Format("2006/01/02"), fmt.Sprintf("%s_%s", local.Format("150405.000"), safeName(p.Text)))
	var ext anpr.ExternalRead
	if s.External != nil {
		ext = *s.External
	}
	store := func(name string, camJPEG []byte, crop image.Rectangle, use bool) string {
		rel := base + "_" + name + ".jpg"
		var err error
		switch {
		case camJPEG != nil:
			err = a.writeSnapshot(rel, camJPEG)
		case s.Frame != nil && use:
			err = a.writeJPEG(rel, s.Frame, crop)
		default:
			return ""
		}
		if err != nil {
			a.log.Error("store plate "+name, "camera", cam.ID, "err", err)
			return ""
		}
		return filepath.ToSlash(rel)
	}
	pr.Overview = store("overview", ext.Overview, image.Rectangle{}, true)
	var box image.Rectangle
	if s.Frame != nil {
		box = p.Best.Box.Inset(-max(p.Best.Box.Dy()/2, 8)).Intersect(s.Frame.Bounds())
	}
	pr.Crop = store("crop", ext.Crop, box, !box.Empty())
	e := event.New(anpr.KindPlateRead, cam.ID, event.SeverityInfo, pr)
	e.Time = at
	if _, err := a.events.Append(e); err != nil {
		a.log.Error("store plate read", "camera", cam.ID, "plate", p.Text, "err", err)
	}
}

// PlatesDir holds plate snapshots.
func (a *Agent) PlatesDir() string { return filepath.Join(a.cfg.Node.DataDir, "plates") }

func (a *Agent) writeJPEG(rel string, img *image.RGBA, crop image.Rectangle) error {
	var src image.Image = img
	if !crop.Empty() {
		sub := image.NewRGBA(image.Rect(0, 0, crop.Dx(), crop.Dy()))
		draw.Draw(sub, sub.Bounds(), img, crop.Min, draw.Src)
		src = sub
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 85}); err != nil {
		return err
	}
	path := filepath.Join(a.PlatesDir(), rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeSnapshot stores a camera's JPEG as it came (checked by camevents).
func (a *Agent) writeSnapshot(rel string, b []byte) error {
	path := filepath.Join(a.PlatesDir(), rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
