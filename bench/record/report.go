package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

func printMachine(w io.Writer, rep report) {
	m := rep.Machine
	fmt.Fprintf(w, "machine: %d CPUs, %s, %d MiB RAM, Linux %s, CLK_TCK %g, loadavg %s\n",
		m.CPUs, m.CPUModel, m.MemMiB, m.Kernel, m.ClkTck, m.Load)
	fmt.Fprintf(w, "kuzet: %s; baseline: %s; %s\n", m.Kuzet, m.FFmpeg, m.Go)
	fmt.Fprintf(w, "window %s after %s warm-up; source: kuzet testcam, H.264 720p25 over RTSP/TCP on loopback\n\n",
		rep.Window, rep.Warmup)
}

// na formats a value or "-" when that side has no result.
func na[T any](r *T, f func(*T) string) string {
	if r == nil {
		return "-"
	}
	return f(r)
}

func printTables(w io.Writer, rep report) {
	fmt.Fprintln(w, "Resources (CPU in % of one core; kB = 1000 bytes; PSS at window end; peak RSS = VmHWM):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tkuzet CPU%/str\tffmpeg CPU%/str\tkuzet/ffmpeg\tkuzet PSS MiB/str\tkuzet peak RSS MiB\tffmpeg PSS MiB/str\tffmpeg peak RSS MiB (sum)\tkuzet kB/s (metric)\tkuzet kB/s (files)\tffmpeg kB/s (files)\ttestcam CPU% (k|f)\t")
	for _, r := range rep.Results {
		k, f := r.Kuzet, r.FFmpeg
		ratio := "-"
		if k != nil && f != nil && f.CPUPercentPerStream > 0 {
			ratio = fmt.Sprintf("%.2f", k.CPUPercentPerStream/f.CPUPercentPerStream)
		}
		src := na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.1f", k.SourceCPUPercent) }) + "|" +
			na(f, func(f *ffmpegResult) string { return fmt.Sprintf("%.1f", f.SourceCPUPercent) })
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.N,
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.2f", k.CPUPercentPerStream) }),
			na(f, func(f *ffmpegResult) string { return fmt.Sprintf("%.2f", f.CPUPercentPerStream) }),
			ratio,
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.2f", k.PSSMiBPerStream) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.1f", k.PeakRSSMiB) }),
			na(f, func(f *ffmpegResult) string { return fmt.Sprintf("%.2f", f.PSSMiBPerStream) }),
			na(f, func(f *ffmpegResult) string { return fmt.Sprintf("%.1f", f.PeakRSSMiB) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.0f", k.BytesPerSec/1000) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.0f", k.DirBytesPerSec/1000) }),
			na(f, func(f *ffmpegResult) string { return fmt.Sprintf("%.0f", f.DirBytesPerSec/1000) }),
			src)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nFrames (kuzet: received/skipped from the last scrape, source already stopped; \"in files\" counted by ffprobe after SIGTERM;")
	fmt.Fprintln(w, "lost = received - skipped(waiting_keyframe) - in files; ffmpeg: frames in its files, no receive counter to compare):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tfps/str\treceived\tskip kf\tin files\twritten metric\tlost\tdropped\tother skips\tkuzet exit\tstop s\tlog W/E\tffmpeg in files\tffmpeg clean exits\tffmpeg errs\t")
	for _, r := range rep.Results {
		k, f := r.Kuzet, r.FFmpeg
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.N,
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.2f", k.FPSPerStream) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprint(k.FramesReceived) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprint(k.SkippedWaitingKey) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprint(k.InFiles.Frames) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprint(k.FramesWrittenMetric) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprint(k.Lost) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprint(k.DroppedTotal) }),
			na(k, func(k *kuzetResult) string { return fmtMap(k.SkippedOther) }),
			na(k, func(k *kuzetResult) string { return strings.ReplaceAll(k.Exit, " ", "_") }),
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%.1f", k.StopSeconds) }),
			na(k, func(k *kuzetResult) string { return fmt.Sprintf("%d/%d", k.Log.Warnings, k.Log.Errors) }),
			na(f, func(f *ffmpegResult) string { return fmt.Sprint(f.InFiles.Frames) }),
			na(f, func(f *ffmpegResult) string { return fmt.Sprintf("%d/%d", f.Graceful, r.N) }),
			na(f, func(f *ffmpegResult) string { return fmt.Sprint(f.Log.Errors) }))
	}
	tw.Flush()
	fmt.Fprintf(w, "loadavg at end: %s\n", rep.LoadAvgEnd)
	printNotes(w, rep)
}

// printNotes lists what a reader must not miss: failures, per-camera
// losses, drops by consumer, unreadable files and log complaints.
func printNotes(w io.Writer, rep report) {
	var notes []string
	add := func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) }
	for _, r := range rep.Results {
		if r.KuzetErr != "" {
			add("N=%d kuzet failed: %s", r.N, r.KuzetErr)
		}
		if r.FFmpegErr != "" {
			add("N=%d ffmpeg failed: %s", r.N, r.FFmpegErr)
		}
		if k := r.Kuzet; k != nil {
			if len(k.LostCameras) > 0 {
				add("N=%d kuzet lost frames by camera: %s", r.N, fmtIntMap(k.LostCameras))
			}
			if len(k.Dropped) > 0 {
				add("N=%d kuzet dropped by consumer: %s", r.N, fmtMap(k.Dropped))
			}
			for _, e := range firstN(k.InFiles.Errors, 3) {
				add("N=%d kuzet file: %s", r.N, e)
			}
			for _, m := range k.Log.Messages {
				add("N=%d kuzet log: %s", r.N, m)
			}
			for _, m := range k.SourceLog.Messages {
				add("N=%d testcam (kuzet run) log: %s", r.N, m)
			}
			if d := k.DirBytesPerSec - k.BytesPerSec; k.BytesPerSec > 0 && (d > 0.05*k.BytesPerSec || d < -0.05*k.BytesPerSec) {
				add("N=%d kuzet bytes metric and file growth differ by more than 5%% (%.0f vs %.0f B/s)", r.N, k.BytesPerSec, k.DirBytesPerSec)
			}
		}
		if f := r.FFmpeg; f != nil {
			for _, e := range firstN(f.InFiles.Errors, 3) {
				add("N=%d ffmpeg file: %s", r.N, e)
			}
			for _, m := range f.Log.Messages {
				add("N=%d ffmpeg log: %s", r.N, m)
			}
			for _, m := range f.SourceLog.Messages {
				add("N=%d testcam (ffmpeg run) log: %s", r.N, m)
			}
		}
	}
	if len(notes) == 0 {
		return
	}
	fmt.Fprintln(w, "\nNotes:")
	for _, n := range notes {
		fmt.Fprintln(w, "  -", n)
	}
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

func fmtMap(m map[string]float64) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%.0f", k, m[k]))
	}
	return strings.Join(parts, ",")
}

func fmtIntMap(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, ",")
}
