package main

import (
	"fmt"
	"os"
	"text/tabwriter"
)

func printHeader(r *report) {
	m, s := r.Machine, r.Settings
	fmt.Printf("machine: %d CPUs, %s, %d MiB RAM, kernel %s, %s, CLK_TCK %.0f, net.core.rmem_max %d\n",
		m.CPUs, m.CPUModel, m.MemMiB, m.Kernel, m.Go, m.ClkTck, m.RmemMax)
	fmt.Printf("load average at the start: %s\n", m.LoadStart)
	fmt.Printf("settings: cap %.1f Mbit/s per child (%.0f B/s); total cap %.1f Mbit/s in the two-children run; "+
		"window %s, warm-up %s; %d files × %d MiB per child; event backlog %d; grave alarm every %s; "+
		"scale: %d links, heartbeat %s, one event per link every %s\n",
		mbps(s.PerChildCapBps), s.PerChildCapBps, mbps(s.TotalCapBps), s.Window, s.Warmup, s.Files, s.FileBytes>>20,
		s.Backlog, s.AlarmEvery, s.Links, s.Heartbeat, s.EventEvery)
}

func table() *tabwriter.Writer { return tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0) }

func printReplay(rs []*replayResult) {
	fmt.Println("\npart 1: fragment replay throughput (growth of the parent's part files and replicas)")
	w := table()
	fmt.Fprintln(w, "run\tchild\tMbit/s\tof cap\t1 s min..max Mbit/s\tfiles finished")
	for _, r := range rs {
		for i, c := range r.Children {
			run := r.Run
			if i > 0 {
				run = ""
			}
			fmt.Fprintf(w, "%s\t%s\t%.2f\t%.3f\t%.1f..%.1f\t%d\n", run, c.ID, mbps(c.Bps), c.OfCap, mbps(c.MinBps), mbps(c.MaxBps), c.FilesDone)
		}
		if len(r.Children) > 1 {
			fmt.Fprintf(w, "\tsum\t%.2f\t%.3f of total %.1f\t\t\n", mbps(r.SumBps), r.OfCap, mbps(r.Total))
		}
	}
	_ = w.Flush()
	for _, r := range rs {
		if r.Exhausted {
			fmt.Printf("note: the %s run emptied a fetch queue: its rate is understated (raise -files)\n", r.Run)
		}
	}
}

func printAlarms(o options, base, loaded *alarmRun) {
	fmt.Printf("\npart 2: grave alarm latency, Append on the child → stored at the parent (one every %v for %v)\n", o.alarmEvery, o.window)
	w := table()
	fmt.Fprintln(w, "load\traised\tarrived\tp50\tp95\tp99\tmax\tfirst seen via alarm/events stream\tstored ahead")
	row := func(name string, l latency, kept string) {
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", name, l.Raised, l.N, fmtMs(l.P50), fmtMs(l.P95),
			fmtMs(l.P99), fmtMs(l.Max), l.Urgent, l.Ordered, kept)
	}
	if base != nil {
		row(base.Load, base.Latency, fmt.Sprint(base.KeptAhead))
	}
	if loaded != nil {
		row(loaded.Load, loaded.Latency, fmt.Sprint(loaded.KeptAhead))
		if bl := loaded.Backlog; bl != nil {
			name := "  raised while the backlog drained"
			if bl.DrainedS >= 0 {
				name += fmt.Sprintf(" (%.1f s)", bl.DrainedS)
			} else {
				name += " (all run)"
			}
			row(name, bl.Alarms, "")
		}
	}
	_ = w.Flush()
	if base != nil && loaded != nil {
		fmt.Printf("loaded/baseline: p50 %s, p95 %s, p99 %s, max %s\n", ratio(loaded.Latency.P50, base.Latency.P50),
			ratio(loaded.Latency.P95, base.Latency.P95), ratio(loaded.Latency.P99, base.Latency.P99), ratio(loaded.Latency.Max, base.Latency.Max))
	}
	fmt.Printf("\ncamera control round trip, parent → child → parent (one every %v; the child answers at once)\n", controlEvery)
	w = table()
	fmt.Fprintln(w, "load	requests	p50	p95	p99	max")
	for _, r := range []*alarmRun{base, loaded} {
		if r != nil {
			c := r.Control
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Load, c.N, fmtMs(c.P50), fmtMs(c.P95), fmtMs(c.P99), fmtMs(c.Max))
		}
	}
	_ = w.Flush()
	if base != nil && loaded != nil {
		fmt.Printf("loaded/baseline: p50 %s, p99 %s (goal: p99 under 100 ms while the link is saturated)\n",
			ratio(loaded.Control.P50, base.Control.P50), ratio(loaded.Control.P99, base.Control.P99))
	}
	if loaded != nil && loaded.Backlog != nil {
		bl := loaded.Backlog
		drained := "not within the run"
		if bl.DrainedS >= 0 {
			drained = fmt.Sprintf("at the parent %.1f s after the ingest began", bl.DrainedS)
		}
		fmt.Printf("event backlog: %d events ingested on the child in %.2f s, drained %s (%d delivered by the window's end)\n",
			bl.Events, bl.IngestS, drained, bl.Delivered)
	}
}

func printScale(r *scaleResult, clk float64) {
	fmt.Printf("\npart 3: %d simulated children (each its own identity, bbolt log and QUIC connection; heartbeat %s, "+
		"one event every %s) → one parent process (pid %d)\n", r.Links, r.Heartbeat, r.EventEvery, r.ParentPID)
	fmt.Printf("setup: certificates %.1f s, child logs opened %.1f s, all linked %.1f s after the first dial\n", r.IssueS, r.OpenLogsS, r.LinkS)
	w := table()
	fmt.Fprintln(w, "linked start/end\tparent CPU%\tCPU%/link\tPSS MiB no links→end\tKiB/link\tpeak RSS MiB\tGo heap KiB/link\tevents/s stored (appended)\tchildren proc CPU%")
	fmt.Fprintf(w, "%d/%d\t%.1f\t%.4f\t%.1f→%.1f\t%.1f\t%.1f\t%.1f\t%.1f (%.1f)\t%.1f\n", r.LinkedStart, r.LinkedEnd, r.CPUPct, r.CPUPctPerLink,
		float64(r.PSSIdleKiB)/1024, float64(r.PSSEndKiB)/1024, r.KiBPerLink, float64(r.PeakRSSKiB)/1024, r.HeapKiBPerLink,
		r.RecvPerS, r.SentPerS, r.ChildrenCPUPct)
	_ = w.Flush()
	fmt.Printf("parent at the end: %d goroutines, %d link_down alarms, longest silence of a linked child %d s; CPU%% resolution ±%.2f over the window\n",
		r.GoroutinesEnd, r.LinkDown, r.MaxSilentS, 100/clk/r.WindowS)
}
