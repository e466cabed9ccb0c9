// Package agent is one running node: it opens the stores, starts the roles
// its configuration asks for (site cameras, archive, HTTP) and stops them in
// order, so that every recorder closes its file before the index closes.
//
// It owns the wiring between the packages (which federation call feeds a
// relay, which link a puller fetches through, which statuses the observed
// hierarchy shows), not their domain logic. It may import any package of
// the node; none but the command may import it.
package agent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/sftpd"
	"github.com/kuzet/kuzet/archive/sftppush"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/live"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/netaddr"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plateapi"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/replicate"
	"github.com/kuzet/kuzet/restream"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/tamper"
	"github.com/kuzet/kuzet/topology"
)

// RecorderQueue is how many access units may wait for the recorder (about
// 20 s at 25 fps): a slow disk is absorbed, not passed on to ingest.
const RecorderQueue = 512

// Agent is a running node.
type Agent struct {
	cfg      *config.Config
	loc      *time.Location // node time zone, loaded once
	log      *slog.Logger
	reg      *prometheus.Registry
	events   *event.Log
	archive  *archive.Archive
	site     *site.Site
	fedSrv   *federation.Server
	fedCli   *federation.Client
	fetchQ   *replicate.Queue
	planner  *replicate.Planner
	puller   *replicate.Puller // pulls children's segment files
	tap      *site.Tap         // live relays to ancestors
	plates   *plates.Index
	tree     *federation.Observed
	live     *live.Server
	rtsp     *restream.Server
	relays   *site.Relays
	views    viewAudit
	searches searchAudit
	runCtx   context.Context // for work started by requests; ends with Run
	stopRun  context.CancelFunc
	ident    *pki.Identity
	topo     *topology.Replica // this node's catalogue replica (nil: none)
	topoStop context.CancelFunc
	alarms   *alarm.Manager
	tamper   *tamper.Consumer
	sftp     *sftpd.Server
	handlers api.Handlers // other components' HTTP handlers
	routes   []api.Route  // what the HTTP API registered
	handler  http.Handler
	audit    *audit.Recorder
	auth     *auth.Auth // nil: no users configured
	push     *sftppush.Pusher
	anpr     *anpr.Consumer // the node's plate reading and cameras' own reads
	camReads *anpr.Journal  // cameras' reads acknowledged and not yet in a stored pass

	camMu     sync.Mutex
	cams      map[string]config.Camera // current camera settings (catalogue changes them)
	models    *anpr.Models
	modelsErr error
	ln        net.Listener
	started   time.Time
	version   string

	// nodeKey seals camera passwords at rest (DATA_DIR/secret.key)
	nodeKey    *topology.SecretKey
	nodeKeyErr error
}

// Options tune an agent beyond its config (tests, demo).
type Options struct {
	Version  string
	Now      func() time.Time
	DiskFree func(string) (uint64, error)
	// ArchiveFault injects storage faults into the archive (tests: a full
	// or read-only disk); see archive.Options.WriteFault.
	ArchiveFault func(op, path string) error
}

// New opens the node's stores, repairing the archive after a crash, and
// binds the HTTP listener. Run starts the work.
func New(cfg *config.Config, log *slog.Logger, o Options) (*Agent, error) {
	if err := os.MkdirAll(cfg.Node.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	a := &Agent{cfg: cfg, loc: cfg.Location(), log: log, reg: prometheus.NewRegistry(), started: time.Now(), version: o.Version,
		tree: federation.NewObserved(cfg.Node.ID), views: viewAudit{last: map[string]time.Time{}}}
	a.runCtx, a.stopRun = context.WithCancel(context.Background())
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var err error
	a.events, err = event.OpenLog(filepath.Join(cfg.Node.DataDir, "events.db"), cfg.Node.ID, log.With("component", "events"))
	if err != nil {
		return nil, err
	}
	a.setCameras(cfg.Cameras)
	defaultRetention := time.Duration(cfg.Archive.RetentionDays) * 24 * time.Hour
	a.archive, err = archive.Open(archive.Options{
		Root:         cfg.Archive.Root,
		IndexPath:    filepath.Join(cfg.Node.DataDir, "archive.db"),
		Segment:      cfg.Archive.Segment.Std(),
		MaxFileBytes: int64(cfg.Archive.MaxFileMB) << 20,
		MaxWidth:     cfg.Archive.MaxResolution.Width,
		MaxHeight:    cfg.Archive.MaxResolution.Height,
		Location:     a.loc,
		Events:       a.events,
		Logger:       log.With("component", "archive"),
		Metrics:      archive.NewMetrics(a.reg),
		Now:          o.Now,
		MinFreeBytes: uint64(cfg.Archive.MinFreeGB * (1 << 30)),
		DiskFree:     o.DiskFree,
		Group:        cfg.Archive.Group,
		WriteFault:   o.ArchiveFault,
		Retention: func(cam string) time.Duration {
			if c, ok := a.camera(cam); ok {
				return cfg.RetentionFor(c)
			}
			return defaultRetention
		},
	})
	if err != nil {
		_ = a.events.Close()
		return nil, err
	}
	consumers := []media.Consumer{{
		Name: "recorder", Queue: RecorderQueue, Critical: true,
		Open: func(camera string, tr media.Track, reason string) (media.Sink, error) {
			return a.archive.NewRecorder(camera, tr, reason), nil
		},
	}}
	for _, c := range cfg.Cameras {
		if c.ANPR.Enabled && !c.Disabled { // fail at start, not at the first frame
			if _, err := a.plateModels(); err != nil {
				_ = a.archive.Close()
				_ = a.events.Close()
				return nil, err
			}
			break
		}
	}
	if a.anpr, err = a.newPlateReader(); err != nil {
		_ = a.archive.Close()
		_ = a.events.Close()
		return nil, err
	}
	consumers = append(consumers, a.anpr.Site())
	liveConsumers, err := a.openLiveView()
	if err != nil {
		a.abort()
		return nil, err
	}
	consumers = append(consumers, liveConsumers...)
	if len(cfg.Federation.Upstream) > 0 {
		a.tap = site.NewTap()
		consumers = append(consumers, a.tap.Consumer())
	}
	cached := a.cachedSlice()
	cams, err := a.sliceCameras(cached)
	if err != nil {
		a.log.Error("cached catalogue slice refused; running the file's cameras only", "err", err)
		cams = cfg.Cameras
	}
	a.setCameras(cams)
	tc, err := a.tamperConsumer(cams)
	if err != nil {
		a.abort()
		return nil, err
	}
	if tc != nil {
		consumers = append(consumers, *tc)
	}
	a.site = site.New(site.Options{
		Cameras:    cams,
		Events:     a.events,
		Logger:     log.With("component", "site"),
		Registerer: a.reg,
		Consumers:  consumers,
	})
	a.plates, err = plates.OpenWith(filepath.Join(cfg.Node.DataDir, "plates.db"), plates.Options{ReviewBelow: cfg.ANPR.ReviewThreshold()})
	if err == nil {
		err = a.openFederation()
	}
	if err == nil && cached != nil && a.fedCli != nil {
		a.fedCli.SetUpstream(cached.Upstream)
	}
	if err == nil {
		err = a.openCatalogue()
	}
	if err == nil {
		err = a.openSecurity()
	}
	if err == nil {
		a.auditLiveReaders() // RTSP readers are served from here on
	}
	if err == nil {
		err = a.openAlarms()
	}
	if err == nil {
		if a.handlers, err = a.httpHandlers(); err == nil {
			err = a.openAccess()
		}
	}
	if err != nil {
		a.abort()
		return nil, err
	}
	var allow []netip.Prefix
	for _, p := range cfg.HTTP.Allow {
		pr, _ := netaddr.ParsePrefix(p) // validated on load
		allow = append(allow, pr)
	}
	a.handler = api.Handler(api.Deps{
		Handlers: a.handlers, Snapshot: a.Snapshot, Guard: a.guard(), User: a.userName, Audit: a.record, Routes: &a.routes,
		NodeID: a.cfg.Node.ID, Version: a.version, Started: a.started, Site: a.site,
		Index: a.archive.Index(), Events: a.events, Gatherer: a.reg, Allow: allow,
		Logger: a.log.With("component", "http"), Federation: a.federationStatus, Plates: a.plates,
		Admin: a.canAdminister, Hosts: a.httpHosts(), CameraPlates: a.cameraPlates,
	})
	a.ln, err = net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		a.abort()
		return nil, fmt.Errorf("http.listen %s: %w", cfg.HTTP.Listen, err)
	}
	return a, nil
}

// abort releases whatever New opened before it failed.
func (a *Agent) abort() {
	a.stopRun()
	a.closeAccess()
	if a.rtsp != nil {
		a.rtsp.Close()
	}
	if a.topo != nil {
		_ = a.topo.Close()
		a.topoStop()
	}
	if a.fedSrv != nil {
		a.fedSrv.Close()
	}
	if a.fetchQ != nil {
		_ = a.fetchQ.Close()
	}
	if a.auth != nil {
		_ = a.auth.Close()
	}
	if a.plates != nil {
		_ = a.plates.Close()
	}
	if a.alarms != nil {
		_ = a.alarms.Close()
	}
	_ = a.camReads.Close()
	_ = a.archive.Close()
	_ = a.events.Close()
}

// Routes lists the HTTP API's patterns and roles (once Run has started).
func (a *Agent) Routes() []api.Route { return a.routes }

// FederationAddr is the bound child-link address ("" when not a parent).
func (a *Agent) FederationAddr() string {
	if a.fedSrv == nil {
		return ""
	}
	return a.fedSrv.Addr()
}

// HTTPAddr is the bound API address.
func (a *Agent) HTTPAddr() string { return a.ln.Addr().String() }

// Events is the node's event log.
func (a *Agent) Events() *event.Log { return a.events }

// Archive is the node's archive.
func (a *Agent) Archive() *archive.Archive { return a.archive }

// Site is the node's camera set.
func (a *Agent) Site() *site.Site { return a.site }

// Run works until ctx ends, then stops cameras (closing their files), the
// archive and the API, in that order.
func (a *Agent) Run(ctx context.Context) error {
	context.AfterFunc(ctx, a.stopRun) // relays started by requests end with the node
	defer a.stopRun()
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// bodies are small JSON; responses may be long downloads and
		// blocking playlist reloads, so writes have no deadline
		ReadTimeout:    30 * time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	httpErr := make(chan error, 1)
	if t := a.cfg.HTTP.TLS; t.Cert != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		go func() { httpErr <- srv.ServeTLS(a.ln, t.Cert, t.Key) }()
	} else {
		go func() { httpErr <- srv.Serve(a.ln) }()
	}

	archCtx, stopArchive := context.WithCancel(context.Background())
	var archWG sync.WaitGroup
	archWG.Add(1)
	go func() {
		defer archWG.Done()
		a.archive.Run(archCtx)
	}()

	var fedWG sync.WaitGroup
	if a.fedSrv != nil {
		fedWG.Add(1)
		go func() {
			defer fedWG.Done()
			a.fedSrv.Run(ctx)
		}()
	}
	if a.planner != nil {
		fedWG.Add(1)
		go func() {
			defer fedWG.Done()
			if err := a.planner.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("fragment planner stopped", "err", err)
			}
		}()
	}
	if a.cfg.PlateAPI.URL != "" {
		fedWG.Add(1)
		go func() {
			defer fedWG.Done()
			plateapi.Run(ctx, plateapi.Options{
				URL: a.cfg.PlateAPI.URL, AuthHeader: a.cfg.PlateAPI.AuthHeader, Timeout: a.cfg.PlateAPI.Timeout.Std(),
				Log: a.events, PlatesDir: a.PlatesDir(), Kind: plates.KindPlateRead, Logger: a.log.With("component", "plate-api"),
			})
		}()
	}
	a.runAccess(ctx, &fedWG)
	fedWG.Add(4)
	go func() {
		defer fedWG.Done()
		a.live.Run(ctx)
	}()
	if a.rtsp != nil {
		fedWG.Add(1)
		go func() {
			defer fedWG.Done()
			a.rtsp.Run(ctx)
		}()
	}
	if a.topo != nil {
		fedWG.Add(1)
		go func() {
			defer fedWG.Done()
			a.watchCatalogue(ctx)
		}()
	}
	fedWG.Add(1)
	go func() {
		defer fedWG.Done()
		a.alarms.Run(ctx)
	}()
	go func() {
		defer fedWG.Done()
		a.runPassages(ctx)
	}()
	go func() {
		defer fedWG.Done()
		a.tree.Follow(ctx, a.events)
	}()
	go func() {
		defer fedWG.Done()
		a.plates.Follow(ctx, a.events, plates.KindPlateRead, a.log.With("component", "plates"))
	}()
	if a.fedCli != nil {
		fedWG.Add(1)
		go func() {
			defer fedWG.Done()
			a.fedCli.Run(ctx)
		}()
	}

	a.log.Info("node running", "id", a.cfg.Node.ID, "http", "http://"+a.HTTPAddr(),
		"archive", a.cfg.Archive.Root, "cameras", len(a.site.Status()))
	a.site.Run(ctx) // returns when ctx ends and every recorder has closed
	a.anpr.Close()  // before the event log closes
	fedWG.Wait()
	if a.push != nil {
		_ = a.push.Close()
	}
	if a.topo != nil {
		_ = a.topo.Close()
		a.topoStop()
	}

	stopArchive()
	archWG.Wait()
	shutCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	err := <-httpErr
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if a.fetchQ != nil {
		err = errors.Join(err, a.fetchQ.Close())
	}
	if a.auth != nil {
		err = errors.Join(err, a.auth.Close())
	}
	err = errors.Join(err, a.alarms.Close())
	// after the plate reading drained and the HTTP handlers returned, so
	// no read is taken or released any more; before the event log
	err = errors.Join(err, a.camReads.Close())
	return errors.Join(err, a.plates.Close(), a.archive.Close(), a.events.Close())
}

// FederationStatus is the node's place in the hierarchy as the API shows it.
type FederationStatus struct {
	Upstream *federation.LinkStatus   `json:"upstream,omitempty"`
	Children []federation.ChildStatus `json:"children,omitempty"`
}

func (a *Agent) federationStatus() any {
	var st FederationStatus
	if a.fedCli != nil {
		s := a.fedCli.Status()
		st.Upstream = &s
	}
	if a.fedSrv != nil {
		st.Children = a.fedSrv.Children()
	}
	return st
}
