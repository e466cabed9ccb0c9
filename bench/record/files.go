package main

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// listMP4 returns the .mp4 files under root, sorted.
func listMP4(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".mp4") {
			files = append(files, p)
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

// probeTimeout bounds one ffprobe; a 5-minute 720p segment takes well
// under a second to count.
const probeTimeout = 60 * time.Second

// countPackets is the number of video packets (= frames, one access unit
// per sample) ffprobe can actually read from file. An unreadable file
// counts as 0 frames and is reported as an error.
func countPackets(ctx context.Context, ffprobe, file string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-count_packets", "-select_streams", "v",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", file)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return 0, fmt.Errorf("ffprobe %s: %v %s", file, err, msg)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return 0, fmt.Errorf("ffprobe %s: no video stream", file)
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, ","))
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s: output %q", file, s)
	}
	return n, nil
}

// frameCount is what was found in one set of files.
type frameCount struct {
	Frames int      `json:"frames"`
	Files  int      `json:"files"`
	Errors []string `json:"errors,omitempty"`
}

// countFrames probes every file with a few workers (one per CPU: ffprobe
// is CPU-bound and nothing is being measured any more).
func countFrames(ctx context.Context, ffprobe string, files []string) frameCount {
	var (
		mu  sync.Mutex
		fc  = frameCount{Files: len(files)}
		wg  sync.WaitGroup
		sem = make(chan struct{}, runtime.NumCPU())
	)
	for _, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := countPackets(ctx, ffprobe, f)
			mu.Lock()
			defer mu.Unlock()
			fc.Frames += n
			if err != nil {
				fc.Errors = append(fc.Errors, err.Error())
			}
		}()
	}
	wg.Wait()
	slices.Sort(fc.Errors)
	return fc
}

// logSummary counts a child's complaints; messages keeps a few distinct
// ones so a report can say what went wrong without opening the logs.
type logSummary struct {
	Warnings int      `json:"warnings"`
	Errors   int      `json:"errors"`
	Messages []string `json:"messages,omitempty"`
}

const maxLogMessages = 5

// summarizeSlog reads the first upto bytes (all if upto < 0) of a log/slog
// text-handler log: the bound leaves out what our own shutdown provokes.
func summarizeSlog(path string, upto int64) logSummary {
	var s logSummary
	seen := map[string]bool{}
	var read int64
	scanLines(path, func(line string) {
		read += int64(len(line)) + 1
		if upto >= 0 && read > upto {
			return
		}
		var lvl string
		switch {
		case strings.Contains(line, "level=WARN"):
			s.Warnings++
			lvl = "WARN"
		case strings.Contains(line, "level=ERROR"):
			s.Errors++
			lvl = "ERROR"
		default:
			return
		}
		msg := lvl + " " + slogAttr(line, "msg")
		if e := slogAttr(line, "error"); e != "" {
			msg += ": " + e
		}
		if !seen[msg] && len(s.Messages) < maxLogMessages {
			seen[msg] = true
			s.Messages = append(s.Messages, msg)
		}
	})
	return s
}

// slogAttr extracts key=... (quoted or bare) from a text-handler line.
func slogAttr(line, key string) string {
	_, rest, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	if strings.HasPrefix(rest, `"`) {
		if v, err := strconv.QuotedPrefix(rest); err == nil {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
		}
	}
	v, _, _ := strings.Cut(rest, " ")
	return v
}

// summarizePlain treats every non-empty line as an error (ffmpeg runs with
// -loglevel error).
func summarizePlain(path string, into *logSummary, seen map[string]bool) {
	scanLines(path, func(line string) {
		if strings.TrimSpace(line) == "" {
			return
		}
		into.Errors++
		if !seen[line] && len(into.Messages) < maxLogMessages {
			seen[line] = true
			into.Messages = append(into.Messages, line)
		}
	})
}

func scanLines(path string, fn func(string)) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fn(sc.Text())
	}
}

// fileSize is the current size of path, 0 if unreadable.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	var lines []string
	scanLines(path, func(l string) {
		lines = append(lines, l)
		if len(lines) > n {
			lines = lines[1:]
		}
	})
	return strings.Join(lines, "\n")
}
