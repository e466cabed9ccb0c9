// Package agent is one running node: it opens the roles its configuration
// asks for — stores, site, plates, parent, child, catalogue, security,
// alarms, access, HTTP; one file each — and closes them in the reverse
// order (lifecycle.go), so that every recorder closes its file before the
// index closes and the event log closes last.
//
// It owns the wiring between the packages (which federation call feeds a
// relay, which link a puller fetches through, which statuses the observed
// hierarchy shows), not their domain logic. It may import any package of
// the node; none but the command may import it.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kuzet/kuzet/alarm"
	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/archive/sftpd"
	"github.com/kuzet/kuzet/archive/sftppush"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/checkpoint"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/live"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/plugin"
	"github.com/kuzet/kuzet/record"
	"github.com/kuzet/kuzet/replicate"
	"github.com/kuzet/kuzet/restream"
	"github.com/kuzet/kuzet/seals/exchange"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/tamper"
	"github.com/kuzet/kuzet/timesync"
	"github.com/kuzet/kuzet/topology"
	"github.com/kuzet/kuzet/whep"
)

// Agent is a running node.
type Agent struct {
	cfg        *config.Config
	loc        *time.Location // node time zone, loaded once
	log        *slog.Logger
	reg        *prometheus.Registry
	events     *event.Log
	archive    *archive.Archive
	site       *site.Site
	rec        *record.Triggers      // when each camera's stream is recorded
	clock      *timesync.Watcher     // nil without time.ntp
	ready      func()                // Options.Ready
	pluginHook func(*plugin.Options) // Options.Plugins
	fedSrv     *federation.Server
	fedCli     *federation.Client
	fetchQ     *replicate.Queue
	planner    *replicate.Planner
	puller     *replicate.Puller // pulls children's segment files
	tails      tailLocks         // fetches of descendants' open files
	failed     failures          // requests for descendants' video that failed
	snapPulls  snapshotPulls     // pulls of descendants' snapshots
	exports    exportJobs        // export packages being made and kept
	exportMP4  http.Handler      // the audited export.mp4 route, for packages
	tap        *site.Tap         // live relays to ancestors
	plates     *plates.Index
	visits     *checkpoint.Index
	desk       *checkpoint.Desk // pass tokens and barriers
	tree       *federation.Observed
	live       *live.Server
	rtsp       *restream.Server
	subs       *site.Relays // own cameras' sub-streams, pulled while watched
	whep       *whep.Server // nil when off; whepOff says why
	whepOff    string
	relays     *site.Relays
	views      viewAudit
	searches   searchAudit
	runCtx     context.Context // for work started by requests; ends with Run
	stopRun    context.CancelFunc
	ident      *pki.Identity
	topo       *topology.Replica // this node's catalogue replica (nil: none)
	topoStop   context.CancelFunc
	cached     *topology.Slice // the catalogue slice cached at the last run (nil: none)
	fedMetrics *federation.Metrics
	alarms     *alarm.Manager
	tamper     *tamper.Consumer
	plugins    *plugins // the analytics plugins: the file's and the catalogue's
	// pluginMetricsSet is registered once, across the plugins' restarts
	pluginMetricsOnce sync.Once
	pluginMetricsSet  *plugin.Metrics
	sftp              *sftpd.Server
	routes            []api.Route // what the HTTP API registered
	handler           http.Handler
	audit             *audit.Recorder
	auth              *auth.Auth // nil: no users configured
	push              *sftppush.Pusher
	anpr              *anpr.Consumer     // the node's plate reading and cameras' own reads
	camReads          *anpr.Journal      // cameras' reads acknowledged and not yet in a stored pass
	seals             *exchange.Exchange // the navigation-seal exchange (nil: not an operator)
	eventKeep         *event.Retainer    // the event log's retention
	ptzHeld           ptzHeads           // cameras' PTZ handles and locks

	camMu     sync.Mutex
	zones     map[string]config.Zone   // by ID: the file's and the slice's (camMu)
	cams      map[string]config.Camera // current camera settings (catalogue changes them)
	models    *anpr.Models
	modelsErr error
	ln        net.Listener
	srv       *http.Server
	httpErr   chan error
	started   time.Time
	life      lifecycle
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
	// ArchiveStore, if set, is the parent tier's store in place of
	// archive.store (tests: a directory shared by replicas).
	ArchiveStore objstore.Store
	// Ready is called once the node serves: every role runs and the HTTP
	// API listens (a service manager is told here).
	Ready func()
	// Plugins, if set, adjusts the plugins' options (tests: short stall
	// and silence times).
	Plugins func(*plugin.Options)
}

// New opens the node's roles in order, each pushing what releases it onto
// the node's one closer stack: the stores (the event log, then the archive,
// repaired after a crash), the site (plate reading, live view, cameras),
// the plate index, the parent and child sides of federation, the
// catalogue, security, alarms, archive access and the HTTP listener. A
// role that fails closes everything opened before it. Run starts the work.
func New(cfg *config.Config, log *slog.Logger, o Options) (*Agent, error) {
	if err := os.MkdirAll(cfg.Node.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	a := &Agent{cfg: cfg, loc: cfg.Location(), log: log, reg: prometheus.NewRegistry(), started: time.Now(), version: o.Version, ready: o.Ready, pluginHook: o.Plugins,
		tree: federation.NewObserved(cfg.Node.ID), views: viewAudit{last: map[string]time.Time{}}}
	a.runCtx, a.stopRun = context.WithCancel(context.Background())
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	roles := []struct {
		name string
		open func() error
	}{
		{"stores", func() error { return a.openStores(o) }},
		{"site", a.openSite},
		{"plates", a.openPlates},
		{"visits", a.openVisits},
		{"federation identity", a.openIdentity},
		{"parent", a.openParent},
		{"child", a.openChild},
		{"catalogue", a.openCatalogue},
		{"security", a.openSecurity},
		{"event retention", func() error { a.openEventRetention(o); return nil }},
		{"alarms", a.openAlarms},
		{"clock", a.openClock},
		{"seal exchange", a.openSeals},
		{"access", a.openAccess},
		{"plugins", a.openPlugins},
		{"http", a.openHTTP},
	}
	for _, r := range roles {
		if err := r.open(); err != nil {
			a.stopRun()
			_ = a.life.closeAll()
			return nil, err
		}
	}
	return a, nil
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

// Run works until ctx ends: it starts every role's loops and the cameras;
// when ctx ends the cameras stop first (every recorder closes its file),
// then the loops, then the closer stack releases the roles in reverse
// order of opening, the event log last.
func (a *Agent) Run(ctx context.Context) error {
	context.AfterFunc(ctx, a.stopRun) // relays started by requests end with the node
	defer a.stopRun()
	a.serveHTTP()
	wait := a.life.start(ctx)
	a.log.Info("node running", "id", a.cfg.Node.ID, "http", "http://"+a.HTTPAddr(),
		"archive", a.cfg.Archive.Root, "cameras", len(a.site.Status()))
	if a.ready != nil {
		a.ready()
	}
	a.site.Run(ctx) // returns when ctx ends and every recorder has closed
	wait()
	return a.life.closeAll()
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
