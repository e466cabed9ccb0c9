package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// The search figures need an index of -reads plate reads. The index has
// no ingest path of its own: it follows an event log (Index.Sync), so the
// build stores the reads in a throw-away centre event log, as the centre
// would have received them from its regions (Log.Ingest in batches), and
// indexes that log. Only the index file is kept, under .cache, with a
// description of its data beside it; the search needs nothing else.

// indexVersion changes whenever the generated data changes, so an old
// cache is not taken for the new one.
const indexVersion = 1

// Where the built data lies: 30 days ending here, from indexSites sites.
var indexEnd = time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)

const (
	indexDays  = 30
	indexSites = 1000
)

// indexMeta describes a cached index: what a query generator needs.
type indexMeta struct {
	Version  int       `json:"version"`
	Reads    int       `json:"reads"`
	Vehicles uint64    `json:"vehicles"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	BuildS   float64   `json:"build_s"`
	Bytes    int64     `json:"bytes"`
	Built    time.Time `json:"built"`
}

func indexPaths(cacheDir string, reads int) (db, meta string) {
	base := filepath.Join(cacheDir, fmt.Sprintf("plates-v%d-%d", indexVersion, reads))
	return base + ".db", base + ".json"
}

// cachedIndex returns the description of a finished index, if there is one.
func cachedIndex(cacheDir string, reads int) (indexMeta, bool) {
	db, metaPath := indexPaths(cacheDir, reads)
	var m indexMeta
	b, err := os.ReadFile(metaPath)
	if err != nil || json.Unmarshal(b, &m) != nil || m.Version != indexVersion || m.Reads != reads {
		return m, false
	}
	if _, err := os.Stat(db); err != nil {
		return m, false
	}
	return m, true
}

// buildIndex stores reads plate reads in a temporary log and indexes them.
// The meta file is written last: an interrupted build is started afresh.
func buildIndex(ctx context.Context, cacheDir string, reads int, progress func(done int, el time.Duration)) (indexMeta, error) {
	dbPath, metaPath := indexPaths(cacheDir, reads)
	m := indexMeta{Version: indexVersion, Reads: reads, Vehicles: uint64(max(1, reads/5)),
		From: indexEnd.AddDate(0, 0, -indexDays), To: indexEnd}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return m, err
	}
	_ = os.Remove(metaPath)
	_ = os.Remove(dbPath)
	if stale, _ := filepath.Glob(filepath.Join(cacheDir, "build-*")); len(stale) > 0 {
		for _, d := range stale { // an interrupted build's
			_ = os.RemoveAll(d)
		}
	}
	work, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return m, err
	}
	defer os.RemoveAll(work)
	log, err := event.OpenLog(filepath.Join(work, "centre-events.db"), "centre", nil)
	if err != nil {
		return m, err
	}
	defer log.Close()
	tmpIdx := filepath.Join(work, "plates.db")
	ix, err := plates.Open(tmpIdx)
	if err != nil {
		return m, err
	}
	defer ix.Close()

	t0 := time.Now()
	rng := rand.New(rand.NewPCG(indexVersion, uint64(reads)))
	incs := make([]uint64, indexSites)
	seqs := make([]uint64, indexSites)
	for i := range incs {
		incs[i] = event.NewIncarnation(m.From.AddDate(-1, 0, 0).Add(time.Duration(i) * time.Second))
		seqs[i] = incs[i]
	}
	span := m.To.Sub(m.From)
	const batch, syncEvery = 10_000, 200_000
	buf := make([]event.Event, 0, batch)
	byRegion := map[string][]event.Event{}
	for i := 0; i < reads; {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		buf = buf[:0]
		for ; len(buf) < batch && i < reads; i++ {
			s := rng.IntN(indexSites)
			seqs[s]++
			t := m.From.Add(time.Duration(float64(span) * (float64(i) + rng.Float64()) / float64(reads)))
			e := compactRead(cameraID(rng.IntN(camerasPerSite)), plateText(vehicle(m.Vehicles, rng)), t, rng)
			e.Origin, e.Inc, e.Seq, e.Path = siteID(s), incs[s], seqs[s], []string{siteID(s)}
			buf = append(buf, e)
		}
		// each region's link delivers its sites' reads, as the centre sees them
		clear(byRegion)
		for _, e := range buf {
			r := regionOf(e.Origin, 3)
			byRegion[r] = append(byRegion[r], e)
		}
		for r, es := range byRegion {
			if _, err := log.Ingest(es, r); err != nil {
				return m, err
			}
		}
		if i%syncEvery == 0 || i == reads {
			if err := ix.Sync(log, plates.KindPlateRead); err != nil {
				return m, err
			}
			if progress != nil {
				progress(i, time.Since(t0))
			}
		}
	}
	m.BuildS = time.Since(t0).Seconds()
	if err := ix.Close(); err != nil {
		return m, err
	}
	if err := os.Rename(tmpIdx, dbPath); err != nil {
		return m, err
	}
	if fi, err := os.Stat(dbPath); err == nil {
		m.Bytes = fi.Size()
	}
	m.Built = time.Now().UTC()
	b, _ := json.MarshalIndent(m, "", "  ")
	return m, os.WriteFile(metaPath, append(b, '\n'), 0o644)
}

// searchKinds are the four searches the issue names, in report order.
var searchKinds = []string{"exact", "prefix", "one edit", "time range"}

// searchQuery is the i-th query of a kind: plates drawn from the same
// vehicles the reads came from, so most searches find something.
func searchQuery(kind string, m indexMeta, rng *rand.Rand) plates.Query {
	p := plateText(vehicle(m.Vehicles, rng))
	switch kind {
	case "prefix":
		// an operator who saw the digits and a letter: 123A…
		return plates.Query{Plate: p[:4], Match: plates.Prefix}
	case "one edit":
		return plates.Query{Plate: oneEdit(p, rng), Match: plates.Fuzzy}
	case "time range":
		from := m.From.Add(time.Duration(rng.Int64N(int64(m.To.Sub(m.From) - 24*time.Hour))))
		return plates.Query{Plate: p, Match: plates.Exact, From: from, To: from.Add(24 * time.Hour)}
	}
	return plates.Query{Plate: p, Match: plates.Exact}
}

// searchResult is one kind's timings.
type searchResult struct {
	Kind    string  `json:"kind"`
	N       int     `json:"n"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
	Mean    float64 `json:"mean_ms"`
	Hits    float64 `json:"mean_hits"`
	Empty   int     `json:"empty"`
	Example string  `json:"example"`
}

// runSearches times n searches of each kind on the open index (default
// limit, 100 reads, as the console asks).
func runSearches(ix *plates.Index, m indexMeta, n int) ([]searchResult, error) {
	rng := rand.New(rand.NewPCG(7, 11))
	var out []searchResult
	for _, kind := range searchKinds {
		ds := make([]time.Duration, 0, n)
		hits, empty := 0, 0
		var example plates.Query
		for i := range n {
			q := searchQuery(kind, m, rng)
			if i == 0 {
				example = q
			}
			t0 := time.Now()
			found, err := ix.Search(q)
			ds = append(ds, time.Since(t0))
			if err != nil {
				return nil, fmt.Errorf("%s search %+v: %w", kind, q, err)
			}
			hits += len(found)
			if len(found) == 0 {
				empty++
			}
		}
		s := summarise(ds)
		ex := fmt.Sprintf("%s %q", example.Match, example.Plate)
		if !example.From.IsZero() {
			ex += " in " + example.From.Format("2006-01-02 15:04") + " + 24h"
		}
		out = append(out, searchResult{Kind: kind, N: n, P50: s.P50, P99: s.P99, Max: s.Max, Mean: s.Mean,
			Hits: float64(hits) / float64(n), Empty: empty, Example: ex})
	}
	return out, nil
}
