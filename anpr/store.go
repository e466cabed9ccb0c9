package anpr

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"

	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// store stores a pass's snapshots and its plate.read event: the camera's
// own pictures where its ANPR sent them, the node's frame for the rest.
func (c *Consumer) store(cam config.Camera, s Snapshot) {
	p := s.Pass
	at := p.BestAt
	if at.IsZero() {
		at = p.First
	}
	pr := plates.PlateRead{
		Plate: p.Text, Country: p.Country, Confidence: p.Confidence, First: p.First.UTC(), Last: p.Last.UTC(),
		Frames: p.Frames, Candidates: p.Candidates, Direction: cam.Direction, Source: s.Source, CameraReads: s.Reads,
		CrossedDivider: p.CrossedDivider,
	}
	if cam.Direction == "auto" {
		pr.Direction = p.Direction
	}
	if c.o.Locate != nil {
		if rel, link, off, ok := c.o.Locate(cam.ID, at); ok {
			pr.Archive, pr.ArchiveLink, pr.Offset = rel, link, off.Seconds()
		}
	}
	local := at.In(c.o.Location)
	base := filepath.Join(cam.ID, local.Format("2006/01/02"), fmt.Sprintf("%s_%s", local.Format("150405.000"), safeName(p.Text)))
	var ext ExternalRead
	if s.External != nil {
		ext = *s.External
	}
	put := func(name string, camJPEG []byte, crop image.Rectangle, use bool) string {
		rel := base + "_" + name + ".jpg"
		var err error
		switch {
		case camJPEG != nil:
			err = c.writeSnapshot(rel, camJPEG)
		case s.Frame != nil && use:
			err = c.writeJPEG(rel, s.Frame, crop)
		default:
			return ""
		}
		if err != nil {
			c.o.Logger.Error("store plate "+name, "camera", cam.ID, "err", err)
			return ""
		}
		return filepath.ToSlash(rel)
	}
	pr.Overview = put("overview", ext.Overview, image.Rectangle{}, true)
	var box image.Rectangle
	if s.Frame != nil {
		box = p.Best.Box.Inset(-max(p.Best.Box.Dy()/2, 8)).Intersect(s.Frame.Bounds())
	}
	pr.Crop = put("crop", ext.Crop, box, !box.Empty())
	e := event.New(plates.KindPlateRead, cam.ID, event.SeverityInfo, pr)
	e.Time = at
	if _, err := c.o.Events.Append(e); err != nil {
		c.o.Logger.Error("store plate read", "camera", cam.ID, "plate", p.Text, "err", err)
		return // its camera reads stay journaled: replayed at the next start
	}
	if len(s.Reads) > 0 && c.o.Journal != nil {
		// failing, the reads are replayed at the next start and skipped
		// there, this plate.read naming them
		if err := c.o.Journal.Release(s.Reads...); err != nil {
			c.o.Logger.Error("release journaled camera reads", "camera", cam.ID, "plate", p.Text, "err", err)
		}
	}
}

func (c *Consumer) writeJPEG(rel string, img *image.RGBA, crop image.Rectangle) error {
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
	return c.writeSnapshot(rel, buf.Bytes())
}

// writeSnapshot stores a JPEG under the snapshot directory; a camera's
// comes as it came (checked by camevents).
func (c *Consumer) writeSnapshot(rel string, b []byte) error {
	path := filepath.Join(c.o.SnapshotDir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// safeName keeps a plate's text fit for a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}
