package agent

import (
	"net/http"
	"path/filepath"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/plugin"
)

// openPlugins starts the analytics plugins of plugins: (docs/plugins.md):
// each sees the frames of the cameras it is granted through the site's
// tap, like a live viewer, so a slow plugin never holds up ingest.
func (a *Agent) openPlugins() error {
	if len(a.cfg.Plugins) == 0 {
		return nil
	}
	specs := make([]plugin.Spec, 0, len(a.cfg.Plugins))
	for _, p := range a.cfg.Plugins {
		specs = append(specs, plugin.Spec{Name: p.Name, Command: p.Command, Args: p.Args, Env: p.Env, Cameras: p.Cameras, Events: p.Events,
			Frames: plugin.FrameSpec{FPS: p.Frames.FPS, Width: p.Frames.Width, Height: p.Frames.Height, Format: p.Frames.Format},
			Limits: plugin.Limits{MemoryMB: p.Limits.MemoryMB, Nice: p.Limits.Nice, EventsPerMinute: p.Limits.EventsPerMinute,
				SnapshotKB: p.Limits.SnapshotKB}})
	}
	o := plugin.Options{Specs: specs, Node: a.cfg.Node.ID, Dir: filepath.Join(a.cfg.Node.DataDir, "plugins"),
		SnapshotDir: a.tamperSnapshotDir(), Log: a.events, Logger: a.log.With("component", "plugins"),
		Metrics: plugin.NewMetrics(a.reg),
		Segments: func(camera string, from, to time.Time) ([]event.Segment, error) {
			return a.archive.Index().Segments(camera, from, to)
		},
		OpenFile: func(rel string) (plugin.File, error) { return a.archive.OpenFile(rel) },
	}
	if a.tap != nil {
		o.Frames = func(camera string) (plugin.Units, error) { return a.tap.Subscribe(camera) }
	}
	m, err := plugin.New(o)
	if err != nil {
		return err
	}
	a.plugins = m
	a.life.loop("plugins", m.Run)
	return nil
}

// pluginStatus is GET /api/v1/plugins.
func (a *Agent) pluginStatus(w http.ResponseWriter, _ *http.Request) {
	out := []plugin.Status{}
	if a.plugins != nil {
		out = a.plugins.Status()
	}
	httpjson.Write(w, http.StatusOK, out)
}
