package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/bench/internal/runctl"
	"github.com/kuzet/kuzet/topology"
)

// bench is one run's shared state.
type bench struct {
	o    options
	clk  float64
	root string
	reg  *runctl.Procs
	rep  *report

	extend func(time.Duration) // pushes the run's deadline back

	pkiDir   string
	centre   *child
	replicas []*child
	regions  []*child
	fleet    *fleet
	meta     indexMeta
}

// addrOf picks key=value out of a ready line.
func addrOf(readyLine, key string) string {
	for _, f := range strings.Fields(readyLine) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

func (b *bench) runAll(ctx context.Context, want map[string]bool) error {
	if want["search"] {
		if err := b.prepareIndex(ctx); err != nil {
			return fmt.Errorf("plate index: %w", err)
		}
	}
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if want["live"] {
		fmt.Printf("… live: warm-up %v, window %v\n", b.o.warmup, b.o.window)
		if err := b.runLive(ctx); err != nil {
			return fmt.Errorf("live: %w", err)
		}
	}
	if want["search"] {
		fmt.Printf("… search: %d searches of each kind at the centre, sites still live\n", b.o.searches)
		var r searchReply
		if err := b.centre.call(30*time.Minute, &r, "search", fmt.Sprint(b.o.searches), b.indexDB(), b.indexMetaPath()); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		b.rep.Search = &searchReport{Index: b.meta, OpenS: r.OpenS, Kinds: r.Kinds}
	}
	if want["catchup"] {
		fmt.Printf("… catch-up: %s's uplink cut while its sites store %v of events\n", regionID(0), b.o.outage)
		if err := b.runCatchup(ctx); err != nil {
			return fmt.Errorf("catch-up: %w", err)
		}
	}
	return nil
}

func (b *bench) indexDB() string       { db, _ := indexPaths(b.o.cacheDir, b.o.reads); return db }
func (b *bench) indexMetaPath() string { _, m := indexPaths(b.o.cacheDir, b.o.reads); return m }

func (b *bench) prepareIndex(ctx context.Context) error {
	if m, ok := cachedIndex(b.o.cacheDir, b.o.reads); ok {
		b.meta = m
		fmt.Printf("… plate index: %d reads cached in %s (built in %.0f s)\n", m.Reads, b.indexDB(), m.BuildS)
		return nil
	}
	fmt.Printf("… plate index: building %d reads into %s (once; later runs reuse it)\n", b.o.reads, b.o.cacheDir)
	b.extend(2 * time.Hour)
	step := max(1, b.o.reads/10)
	next := step
	m, err := buildIndex(ctx, b.o.cacheDir, b.o.reads, func(done int, el time.Duration) {
		if done >= next || done == b.o.reads {
			fmt.Printf("    %d reads indexed in %.0f s\n", done, el.Seconds())
			next = done + step
		}
	})
	if err != nil {
		return err
	}
	b.meta = m
	b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("plate index built in this run: %.0f s", m.BuildS))
	return nil
}

// setup starts the catalogue replicas, the centre and the regions, fills
// the catalogue, and links the sites.
func (b *bench) setup(ctx context.Context) error {
	t0 := time.Now()
	b.pkiDir = filepath.Join(b.root, "pki")
	if err := newCA(b.pkiDir); err != nil {
		return err
	}
	for _, id := range []string{centreID, "centre-2", "centre-3"} {
		if _, err := issue(b.pkiDir, id); err != nil {
			return err
		}
	}
	for r := range b.o.regions {
		if _, err := issue(b.pkiDir, regionID(r)); err != nil {
			return err
		}
	}
	state := func(id string) (string, error) {
		d := filepath.Join(b.root, id)
		return d, os.MkdirAll(d, 0o755)
	}
	logOf := func(id string) string { return filepath.Join(b.root, id+".log") }
	dir, err := state(centreID)
	if err != nil {
		return err
	}
	if b.centre, err = startChild(b.reg, centreID, logOf(centreID), "-role", "centre", "-pki", b.pkiDir, "-state", dir); err != nil {
		return err
	}
	for _, id := range []string{"centre-2", "centre-3"} {
		dir, err := state(id)
		if err != nil {
			return err
		}
		c, err := startChild(b.reg, id, logOf(id), "-role", "replica", "-id", id, "-pki", b.pkiDir, "-state", dir)
		if err != nil {
			return err
		}
		b.replicas = append(b.replicas, c)
		if err := b.centre.call(60*time.Second, nil, "join", id, addrOf(c.ready, "raft")); err != nil {
			return err
		}
	}
	nodesPath := filepath.Join(b.root, "nodes.json")
	if err := os.WriteFile(nodesPath, b.hierarchy(), 0o644); err != nil {
		return err
	}
	var put struct {
		Nodes   int     `json:"nodes"`
		Seconds float64 `json:"seconds"`
	}
	if err := b.centre.call(5*time.Minute, &put, "nodes", nodesPath); err != nil {
		return err
	}
	var cat topology.Status
	if err := b.centre.call(10*time.Second, &cat, "catalogue"); err != nil {
		return err
	}
	b.rep.Setup.CatalogueNodes, b.rep.Setup.CatalogueS, b.rep.Setup.Members = put.Nodes, put.Seconds, len(cat.Members)
	fmt.Printf("… catalogue: %d replicas, %d nodes put through Raft in %.1f s\n", len(cat.Members), put.Nodes, put.Seconds)

	centreAddr := addrOf(b.centre.ready, "addr")
	var regionAddrs []string
	for r := range b.o.regions {
		id := regionID(r)
		dir, err := state(id)
		if err != nil {
			return err
		}
		c, err := startChild(b.reg, id, logOf(id), "-role", "region", "-id", id, "-pki", b.pkiDir, "-state", dir,
			"-upstream", centreAddr, "-heartbeat", b.o.heartbeat.String())
		if err != nil {
			return err
		}
		b.regions = append(b.regions, c)
		regionAddrs = append(regionAddrs, addrOf(c.ready, "addr"))
	}
	err = waitFor(ctx, 30*time.Second, 100*time.Millisecond, "the regions to link to the centre", func() (bool, error) {
		var st centreStat
		err := b.centre.call(10*time.Second, &st, "stat")
		return st.Linked == b.o.regions, err
	})
	if err != nil {
		return err
	}
	// the centre with its catalogue and regions but no site yet: the
	// base the per-site memory grows from
	if err := sleepCtx(ctx, time.Second); err != nil {
		return err
	}
	if b.rep.Setup.CentrePSSIdleKiB, err = b.centre.pssKB(); err != nil {
		return err
	}
	var idle centreStat
	if err := b.centre.call(10*time.Second, &idle, "stat"); err != nil {
		return err
	}
	b.rep.Setup.CentreHeapIdle = idle.HeapInuse

	t1 := time.Now()
	sitesDir, err := state("sites")
	if err != nil {
		return err
	}
	if b.fleet, err = openFleet(ctx, b.pkiDir, sitesDir, b.o.sites, b.o.regions); err != nil {
		return err
	}
	b.rep.Setup.OpenSitesS = time.Since(t1).Seconds()
	t1 = time.Now()
	if err := b.fleet.link(ctx, regionAddrs, b.o.heartbeat); err != nil {
		return err
	}
	err = waitFor(ctx, 60*time.Second+time.Duration(b.o.sites)*50*time.Millisecond, 250*time.Millisecond,
		fmt.Sprintf("%d sites to link", b.o.sites), func() (bool, error) { return b.fleet.linked() == b.o.sites, nil })
	if err != nil {
		return fmt.Errorf("%w (%d linked)", err, b.fleet.linked())
	}
	b.rep.Setup.LinkSitesS = time.Since(t1).Seconds()
	b.rep.Setup.TotalS = time.Since(t0).Seconds()
	for _, c := range b.roles() {
		c.markLog()
	}
	fmt.Printf("… %d sites: certificates and logs %.1f s, all linked %.1f s later\n", b.o.sites, b.rep.Setup.OpenSitesS, b.rep.Setup.LinkSitesS)
	b.fleet.produce()
	return nil
}

// roles lists the role processes started so far.
func (b *bench) roles() []*child {
	var out []*child
	for _, c := range append(append([]*child{b.centre}, b.regions...), b.replicas...) {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// hierarchy is the catalogue's nodes, parents first: three centre
// replicas of one tier, the regions under centre-1, the sites under theirs.
func (b *bench) hierarchy() []byte {
	var nodes []topology.Node
	for _, id := range []string{centreID, "centre-2", "centre-3"} {
		nodes = append(nodes, topology.Node{ID: id, Role: "centre", Tier: "centre"})
	}
	for r := range b.o.regions {
		nodes = append(nodes, topology.Node{ID: regionID(r), Role: "region", Parent: centreID})
	}
	for i := range b.o.sites {
		nodes = append(nodes, topology.Node{ID: siteID(i), Role: "site", Parent: regionID(i % b.o.regions)})
	}
	raw, _ := json.Marshal(nodes)
	return raw
}

// teardown stops the sites, then the regions, the centre and the
// replicas, each bounded.
func (b *bench) teardown() {
	// read before the sites go: their links closing are not problems
	if n, first := logProblems(b.roles()); n > 0 {
		b.rep.Notes = append(b.rep.Notes, fmt.Sprintf("%d warnings or errors in the role logs after start-up (first: %s)", n, strings.Join(first, " | ")))
	}
	if b.fleet != nil {
		b.fleet.stop()
		b.fleet.close()
	}
	for _, c := range b.regions {
		c.stop()
	}
	if b.centre != nil {
		b.centre.stop()
	}
	for _, c := range b.replicas {
		c.stop()
	}
}
