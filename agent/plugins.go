package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/plugin"
	"github.com/kuzet/kuzet/topology"
)

// plugins runs the node's analytics plugins (docs/plugins.md): those of
// its file and those the catalogue rolls out to it, started again as a
// whole when a new slice changes them.
type plugins struct {
	mu     sync.Mutex
	m      *plugin.Manager // nil: none
	specs  []plugin.Spec
	unrun  []plugin.Status // the catalogue's plugins that cannot run here, and why
	reload chan struct{}
}

// openPlugins prepares the plugins of plugins: and of the cached slice.
// Each sees the frames of the cameras it is granted through the site's
// tap, like a live viewer, so a slow plugin never holds up ingest.
func (a *Agent) openPlugins() error {
	a.plugins = &plugins{reload: make(chan struct{}, 1)}
	if _, err := a.setPlugins(a.cached); err != nil {
		return err
	}
	a.life.loop("plugins", a.runPlugins)
	return nil
}

// pluginSpecs are the file's plugins and the slice's (the file's win on a
// name both give); a plugin of the slice runs only from plugins_dir.
func (a *Agent) pluginSpecs(s *topology.Slice) (specs []plugin.Spec, unrun []plugin.Status) {
	names := map[string]bool{}
	for _, p := range a.cfg.Plugins {
		names[p.Name] = true
		specs = append(specs, plugin.Spec{Name: p.Name, Command: p.Command, Args: p.Args, Env: p.Env, Cameras: p.Cameras, Events: p.Events,
			Frames: plugin.FrameSpec{FPS: p.Frames.FPS, Width: p.Frames.Width, Height: p.Frames.Height, Format: p.Frames.Format,
				Keyframes: p.Frames.Keyframes, Every: p.Frames.Every},
			Limits: plugin.Limits{MemoryMB: p.Limits.MemoryMB, Nice: p.Limits.Nice, EventsPerMinute: p.Limits.EventsPerMinute,
				SnapshotKB: p.Limits.SnapshotKB}, Remote: p.Remote, Connect: p.Connect})
	}
	if s == nil {
		return specs, nil
	}
	for _, p := range s.Plugins {
		if names[p.Name] {
			a.log.Info("plugin kept as in the node's file (local override of the catalogue)", "plugin", p.Name)
			continue
		}
		cmd, err := "", error(nil)
		switch {
		case p.Connect != "" && a.ident == nil:
			err = fmt.Errorf("plugin %s is a service to dial and this node has no federation.tls certificate to dial it with", p.Name)
		case p.Remote && p.Connect == "" && a.cfg.PluginsListen == "":
			err = fmt.Errorf("plugin %s is remote and this node has no plugins_listen for it to connect to", p.Name)
		case !p.Remote:
			cmd, err = a.installedPlugin(p.Name)
		}
		if err != nil {
			a.log.Error("plugin of the catalogue not run", "plugin", p.Name, "err", err)
			unrun = append(unrun, plugin.Status{Name: p.Name, State: "failed", LastError: err.Error(),
				Stderr: []string{}, Cameras: p.Cameras})
			continue
		}
		sp := plugin.Spec{Name: p.Name, Command: cmd, Args: p.Args, Cameras: p.Cameras, Events: p.Events,
			Frames: plugin.FrameSpec{FPS: p.FPS, Width: p.Width, Height: p.Height, Format: p.Format, Keyframes: p.Keyframes, Every: p.Every},
			Limits: plugin.Limits{MemoryMB: p.MemoryMB, EventsPerMinute: p.EventsPerMinute, SnapshotKB: p.SnapshotKB}, Remote: p.Remote, Connect: p.Connect}
		// what the catalogue gives never keeps the node from starting
		checked := sp
		checked.Defaults()
		if err := checked.Check(); err != nil {
			unrun = append(unrun, plugin.Status{Name: p.Name, State: "failed", LastError: "catalogue: " + err.Error(),
				Stderr: []string{}, Cameras: p.Cameras})
			continue
		}
		specs = append(specs, sp)
	}
	return specs, unrun
}

// installedPlugin is plugins_dir/name, if it is an executable only its
// owner may change.
func (a *Agent) installedPlugin(name string) (string, error) {
	if a.cfg.PluginsDir == "" {
		return "", fmt.Errorf("plugin %s: this node has no plugins_dir to run the catalogue's plugins from", name)
	}
	p := filepath.Join(a.cfg.PluginsDir, name)
	st, err := os.Stat(p)
	switch {
	case err != nil:
		return "", fmt.Errorf("plugin %s is not installed in %s: %w", name, a.cfg.PluginsDir, err)
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		return "", fmt.Errorf("plugin %s: %s is not an executable file", name, p)
	case st.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("plugin %s: %s may be changed by others (mode %v): chmod go-w", name, p, st.Mode().Perm())
	}
	return p, nil
}

// setPlugins takes the plugins of s (and the file); changed reports
// whether they differ from those running.
func (a *Agent) setPlugins(s *topology.Slice) (changed bool, err error) {
	runnable, unrun := a.pluginSpecs(s)
	if len(runnable) > 0 && a.tap == nil {
		return false, fmt.Errorf("plugins: this node records no cameras")
	}
	pl := a.plugins
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.unrun = unrun
	if reflect.DeepEqual(runnable, pl.specs) && (pl.m != nil || len(runnable) == 0) {
		return false, nil
	}
	if len(runnable) == 0 {
		pl.m, pl.specs = nil, nil
		return true, nil
	}
	o := plugin.Options{Specs: runnable, Node: a.cfg.Node.ID, Dir: filepath.Join(a.cfg.Node.DataDir, "plugins"),
		SnapshotDir: a.tamperSnapshotDir(), Log: a.events, Logger: a.log.With("component", "plugins"),
		Metrics: a.pluginMetrics(),
		Segments: func(camera string, from, to time.Time) ([]event.Segment, error) {
			return a.archive.Index().Segments(camera, from, to)
		},
		OpenFile: func(rel string) (plugin.File, error) { return a.archive.OpenFile(rel) },
		Frames:   func(camera string) (plugin.Units, error) { return a.tap.Subscribe(camera) },
		Listen:   a.cfg.PluginsListen,
	}
	if a.ident != nil {
		log := a.log.With("component", "plugins")
		o.TLS, o.Identify = a.ident.PluginTLS(log), a.ident.PluginName
		o.DialTLS = func(name string) *tls.Config { return a.ident.PluginClientTLS(name, log) }
	}
	if a.pluginHook != nil {
		a.pluginHook(&o)
	}
	m, err := plugin.New(o)
	if err != nil {
		return false, err
	}
	pl.m, pl.specs = m, runnable
	return true, nil
}

// pluginMetrics are registered once, whatever the restarts.
func (a *Agent) pluginMetrics() *plugin.Metrics {
	a.pluginMetricsOnce.Do(func() { a.pluginMetricsSet = plugin.NewMetrics(a.reg) })
	return a.pluginMetricsSet
}

// runPlugins runs the current plugins, starting them again as a whole
// when a slice changes them.
func (a *Agent) runPlugins(ctx context.Context) {
	for {
		// a change signalled before this is in the plugins read next (one
		// signalled after them restarts them once more, harmlessly)
		select {
		case <-a.plugins.reload:
		default:
		}
		a.plugins.mu.Lock()
		m := a.plugins.m
		a.plugins.mu.Unlock()
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if m != nil {
				m.Run(rctx)
			}
		}()
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return
		case <-a.plugins.reload:
			a.log.Info("plugins changed by the catalogue: starting them again")
			cancel()
			<-done
		}
	}
}

// reloadPlugins applies the plugins of a new slice.
func (a *Agent) reloadPlugins(s *topology.Slice) error {
	if a.plugins == nil {
		return nil
	}
	changed, err := a.setPlugins(s)
	if err != nil || !changed {
		return err
	}
	select {
	case a.plugins.reload <- struct{}{}:
	default:
	}
	return nil
}

// pluginStatus is GET /api/v1/plugins.
func (a *Agent) pluginStatus(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, a.pluginList())
}

// restartPlugin is POST /api/v1/plugins/{name}/restart: the plugin's
// process is started again now (audited by the route's wrapper).
func (a *Agent) restartPlugin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var m *plugin.Manager
	var unrun []plugin.Status
	if a.plugins != nil {
		a.plugins.mu.Lock()
		m, unrun = a.plugins.m, a.plugins.unrun
		a.plugins.mu.Unlock()
	}
	for _, u := range unrun {
		if u.Name == name {
			httpjson.Error(w, http.StatusConflict, "plugin "+name+" cannot run here: "+u.LastError)
			return
		}
	}
	if m == nil {
		httpjson.Error(w, http.StatusNotFound, "plugin "+name+": this node runs no plugins")
		return
	}
	if err := m.Restart(name); err != nil {
		code := http.StatusConflict
		if errors.Is(err, plugin.ErrNoPlugin) {
			code = http.StatusNotFound
		}
		httpjson.Error(w, code, "plugin "+name+": "+err.Error())
		return
	}
	a.log.Info("plugin restarted by hand", "plugin", name)
	w.WriteHeader(http.StatusAccepted)
}

func (a *Agent) pluginList() []plugin.Status {
	out := []plugin.Status{}
	if a.plugins == nil {
		return out
	}
	a.plugins.mu.Lock()
	m, unrun := a.plugins.m, a.plugins.unrun
	a.plugins.mu.Unlock()
	if m != nil {
		out = m.Status()
	}
	return append(out, unrun...)
}
