package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/kuzet/kuzet/bench/internal/procfs"
)

type report struct {
	StartedAt   time.Time      `json:"started_at"`
	Machine     procfs.Machine `json:"machine"`
	Settings    settings       `json:"settings"`
	Setup       setupResult    `json:"setup"`
	Live        *liveResult    `json:"live,omitempty"`
	Search      *searchReport  `json:"search,omitempty"`
	Catchup     *catchupResult `json:"catchup,omitempty"`
	Errors      []string       `json:"errors,omitempty"`
	Notes       []string       `json:"notes,omitempty"`
	Interrupted string         `json:"interrupted,omitempty"`
}

type settings struct {
	Sites             int     `json:"sites"`
	Regions           int     `json:"regions"`
	Cameras           int     `json:"cameras_per_site"`
	Window            string  `json:"window"`
	Warmup            string  `json:"warmup"`
	Outage            string  `json:"outage"`
	Heartbeat         string  `json:"heartbeat"`
	Reads             int     `json:"index_reads"`
	Searches          int     `json:"searches_per_kind"`
	EventsPerSiteHour float64 `json:"events_per_site_hour"`
	Parts             string  `json:"parts"`
}

func settingsOf(o options) settings {
	return settings{Sites: o.sites, Regions: o.regions, Cameras: camerasPerSite, Window: o.window.String(), Warmup: o.warmup.String(),
		Outage: o.outage.String(), Heartbeat: o.heartbeat.String(), Reads: o.reads, Searches: o.searches,
		EventsPerSiteHour: eventsPerSiteHour(), Parts: o.parts}
}

type setupResult struct {
	Members          int     `json:"catalogue_replicas"`
	CatalogueNodes   int     `json:"catalogue_nodes"`
	CatalogueS       float64 `json:"catalogue_put_s"`
	CentrePSSIdleKiB uint64  `json:"centre_pss_kib_no_sites"`
	CentreHeapIdle   uint64  `json:"centre_heap_no_sites"`
	OpenSitesS       float64 `json:"sites_certificates_and_logs_s"`
	LinkSitesS       float64 `json:"sites_linked_s"`
	TotalS           float64 `json:"total_s"`
}

type searchReport struct {
	Index indexMeta      `json:"index"`
	OpenS float64        `json:"open_s"`
	Kinds []searchResult `json:"kinds"`
}

func printHeader(r *report) {
	m, s := r.Machine, r.Settings
	fmt.Printf("machine: %d CPUs, %s, %d MiB RAM, kernel %s, %s, CLK_TCK %.0f, net.core.rmem_max %d\n",
		m.CPUs, m.CPUModel, m.MemMiB, m.Kernel, m.Go, m.ClkTck, m.RmemMax)
	fmt.Printf("load average at the start: %s\n", m.LoadStart)
	fmt.Printf("settings: %d sites × %d cameras over %d regions (%.0f events per site-hour), heartbeat %s; "+
		"warm-up %s, window %s; outage %s; index %d reads, %d searches per kind\n",
		s.Sites, s.Cameras, s.Regions, s.EventsPerSiteHour, s.Heartbeat, s.Warmup, s.Window, s.Outage, s.Reads, s.Searches)
}

func table() *tabwriter.Writer { return tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0) }

func kib2mib(k float64) float64 { return k / 1024 }

func printResults(r *report, clk float64) {
	fmt.Println()
	w := table()
	fmt.Fprintln(w, "figure\tmeasured\tgoal")
	if l := r.Live; l != nil {
		fmt.Fprintf(w, "centre CPU per site\t%.4f %% of a core (%.1f %% for %d sites)\t< 1 %%\n", l.CentreCPUPerSite, l.CentreCPUPct, l.Sites)
		fmt.Fprintf(w, "centre memory per site (PSS / sites)\t%.3f MiB (%.0f MiB in all)\t< 2 MiB\n",
			kib2mib(l.PSSPerSiteKiB), kib2mib(float64(l.CentrePSSKiB)))
		fmt.Fprintf(w, "  growth per site (PSS − PSS without sites)\t%.1f KiB (%.0f → %.0f MiB)\t\n",
			l.PSSGrowthKiB, kib2mib(float64(l.CentrePSSIdleKiB)), kib2mib(float64(l.CentrePSSKiB)))
		fmt.Fprintf(w, "event latency site → centre p50 / p99\t%s / %s (%d events, max %s)\t\n",
			fmtMs(l.Latency.Events.P50), fmtMs(l.Latency.Events.P99), l.Latency.Events.N, fmtMs(l.Latency.Events.Max))
		fmt.Fprintf(w, "  urgent alarms, first arrival p50 / p99\t%s / %s (%d alarms)\t\n",
			fmtMs(l.Latency.Urgent.P50), fmtMs(l.Latency.Urgent.P99), l.Latency.Urgent.N)
	}
	if c := r.Catchup; c != nil && c.CatchupS > 0 {
		fmt.Fprintf(w, "catch-up after %s of uplink outage\t%.1f× real time (%.0f s of events in %.1f s)\t≥ 10×\n",
			time.Duration(c.SimulatedS*float64(time.Second)), c.Speed, c.CoveredS, c.CatchupS)
	}
	if s := r.Search; s != nil {
		for _, k := range s.Kinds {
			fmt.Fprintf(w, "plate search p99, %s (%d reads)\t%s (p50 %s)\t< 100 ms\n", k.Kind, s.Index.Reads, fmtMs(k.P99), fmtMs(k.P50))
		}
	}
	_ = w.Flush()

	if l := r.Live; l != nil {
		fmt.Printf("\nlive window %.0f s: sites appended %.1f events/s (%d in the window), centre stored %.1f/s; "+
			"all at the centre %.1f s after the window; plate index lag at the end %d events\n",
			l.WindowS, l.AppendedPerS, l.AppendedInWindow, l.CentreStoredPerS, l.DrainS, l.IndexLag)
		w = table()
		fmt.Fprintln(w, "process\tCPU % of a core\tPSS MiB\tnote")
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\tpeak RSS %.0f MiB, Go heap %.0f MiB, %d goroutines\n", centreID, l.CentreCPUPct,
			kib2mib(float64(l.CentrePSSKiB)), kib2mib(float64(l.CentrePeakKiB)), kib2mib(l.CentreHeapKiB), l.CentreGoroutines)
		for i, c := range l.RegionCPUPct {
			fmt.Fprintf(w, "%s\t%.1f\t%.1f\t\n", regionID(i), c, kib2mib(float64(l.RegionPSSKiB[i])))
		}
		for i, c := range l.ReplicaCPUPct {
			fmt.Fprintf(w, "centre-%d\t%.1f\t\tcatalogue replica (follower)\n", i+2, c)
		}
		fmt.Fprintf(w, "sites\t%.1f\t\tall %d simulated sites, this process\n", l.SitesCPUPct, l.Sites)
		_ = w.Flush()
		fmt.Printf("CPU%% resolution ±%.2f over the window (CLK_TCK %.0f)\n", 100/clk/l.WindowS, clk)
	}
	if c := r.Catchup; c != nil {
		fmt.Printf("\ncatch-up of %s (%d sites): %d events of a simulated %s stored in %.0f s, at the region %.1f s later; "+
			"uplink down %.0f s in all; the centre lacked %d events and held them %.1f s after the uplink came back "+
			"(%.0f events/s; centre CPU %.0f %%, region CPU %.0f %% meanwhile)\n",
			c.Region, c.Sites, c.HourEvents, time.Duration(c.SimulatedS*float64(time.Second)), c.ProduceS, c.RegionDrainedS,
			c.RealOutageS, c.Backlog, c.CatchupS, c.EventsPerS, c.CentreCPUPct, c.RegionCPUPct)
	}
	if s := r.Search; s != nil {
		fmt.Printf("\nplate search at the centre: %d reads of %d vehicles over %s..%s (index %.1f GiB, opened in %.2f s)\n",
			s.Index.Reads, s.Index.Vehicles, s.Index.From.Format("2006-01-02"), s.Index.To.Format("2006-01-02"),
			float64(s.Index.Bytes)/(1<<30), s.OpenS)
		w = table()
		fmt.Fprintln(w, "kind\tsearches\tp50\tp99\tmax\tmean hits\tempty\texample")
		for _, k := range s.Kinds {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%.1f\t%d\t%s\n", k.Kind, k.N, fmtMs(k.P50), fmtMs(k.P99), fmtMs(k.Max), k.Hits, k.Empty, k.Example)
		}
		_ = w.Flush()
	}
}
