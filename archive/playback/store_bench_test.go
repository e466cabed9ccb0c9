package playback

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/objstore"
	"github.com/kuzet/kuzet/archive/objstore/s3test"
)

// BenchmarkStoreTier measures a parent tier's archive in a SeaweedFS
// bucket against the same on the local disk, in one run (make bench):
// import throughput of a child's segments, the time from a playlist
// request to the first media bytes of a replica (a cold handler, so the
// file is scanned), and what the index costs per stored GB.
func BenchmarkStoreTier(b *testing.B) {
	srv := s3test.Start(b)
	srv.Bucket(b, "tier")
	ctx := context.Background()
	s3, err := objstore.NewS3(ctx, objstore.S3Options{Endpoint: srv.Endpoint, Bucket: "tier", Prefix: "region-a",
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	// SeaweedFS takes its first write ~9 s after it starts answering: not
	// part of any figure
	if err := s3.Put(ctx, "warm-up", bytes.NewReader([]byte("x")), 1, ""); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	// a child's recording: 5 one-minute files of the demo clip
	child, err := archive.Open(archive.Options{Root: filepath.Join(dir, "child"), IndexPath: filepath.Join(dir, "child.db"),
		Segment: time.Minute, Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { child.Close() })
	start := time.Date(2025, 8, 18, 14, 0, 0, 0, time.UTC)
	feed(b, child, "Camera1", parseClip(b, demoClip()), start, 5*60*25+1)
	segs, _ := child.Index().Segments("Camera1", time.Time{}, time.Time{})
	var files [][]byte
	var total int64
	for _, s := range segs {
		body, err := os.ReadFile(child.Abs(s.Path))
		if err != nil {
			b.Fatal(err)
		}
		files, total = append(files, body), total+int64(len(body))
	}

	tiers := []struct {
		name  string
		store objstore.Store
		arch  *archive.Archive
	}{{name: "disk"}, {name: "s3", store: s3}}
	importSecs := map[string]float64{}
	for i := range tiers {
		tr := &tiers[i]
		tr.arch, err = archive.Open(archive.Options{Root: filepath.Join(dir, tr.name), IndexPath: filepath.Join(dir, tr.name+".db"),
			Location: time.UTC, Store: tr.store})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { tr.arch.Close() })
		t0 := time.Now()
		for k, s := range segs {
			p, err := tr.arch.OpenPart(ctx, "site", s)
			if err != nil {
				b.Fatal(err)
			}
			for off := 0; off < len(files[k]); off += 256 << 10 {
				if _, err := p.Write(files[k][off:min(off+256<<10, len(files[k]))]); err != nil {
					b.Fatal(err)
				}
			}
			if err := p.Import(ctx); err != nil {
				b.Fatal(err)
			}
			_ = p.Close()
		}
		importSecs[tr.name] = time.Since(t0).Seconds()
	}

	// the bucket's own speed: the same bytes by plain PUTs
	t0 := time.Now()
	for k, s := range segs {
		if err := s3.Put(ctx, "raw/"+s.Path, bytes.NewReader(files[k]), int64(len(files[k])), s.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	importSecs["put"] = time.Since(t0).Seconds()

	// from the playlist request to the first media bytes, cold
	mapRE := regexp.MustCompile(`#EXT-X-MAP:URI="([^"]+)"(?:,BYTERANGE="(\d+)@(\d+)")?`)
	segRE := regexp.MustCompile(`#EXT-X-BYTERANGE:(\d+)@(\d+)\n(\S+)`)
	get := func(h http.Handler, uri, n, off string) *discard {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/archive/"+uri, nil)
		if n != "" {
			ln, _ := strconv.ParseInt(n, 10, 64)
			o, _ := strconv.ParseInt(off, 10, 64)
			r.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", o, o+ln-1))
		}
		d := &discard{h: http.Header{}, code: 200}
		h.ServeHTTP(d, r)
		if (d.code != 200 && d.code != http.StatusPartialContent) || d.n == 0 {
			b.Fatalf("%s: %d, %d bytes", uri, d.code, d.n)
		}
		return d
	}
	startMs := map[string]float64{}
	for _, tr := range tiers {
		var ms []float64
		playlist := "/api/v1/archive/play.m3u8?" + rangeQ("site/Camera1", start.Add(90*time.Second), start.Add(150*time.Second))
		for range 7 {
			// a new handler each time: nothing scanned before
			h, err := New(Options{Archive: tr.arch})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, playlist, nil))
			mm, sm := mapRE.FindStringSubmatch(rec.Body.String()), segRE.FindStringSubmatch(rec.Body.String())
			if rec.Code != 200 || mm == nil || sm == nil {
				b.Fatalf("%s playlist: %d %s", tr.name, rec.Code, rec.Body.String())
			}
			// the init section and the first media segment, as a player
			// asks for them next
			get(h, mm[1], mm[2], mm[3])
			get(h, sm[3], sm[1], sm[2])
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(ms)
		startMs[tr.name] = ms[len(ms)/2]
	}

	// the index per stored GB: 20,000 more replicas indexed
	x := tiers[1].arch
	dbPath := filepath.Join(dir, "s3.db")
	before, _ := os.Stat(dbPath)
	const n = 20000
	for i := range n {
		s := segs[0]
		s.Start = start.Add(time.Duration(i+10) * 5 * time.Minute)
		s.End = s.Start.Add(5 * time.Minute)
		s.Path = archive.SegmentPath("Camera1", s.Start, time.UTC, 0)
		if err := x.IndexStoredReplica(fmt.Sprintf("site-%d", i%50), s); err != nil {
			b.Fatal(err)
		}
	}
	after, _ := os.Stat(dbPath)
	perSeg := float64(after.Size()-before.Size()) / n
	// 5-minute segments at the demo clip's rate and at 4 Mbit/s
	demoSeg := float64(total) / float64(len(segs)) * 5
	perGB := func(segBytes float64) float64 { return perSeg * (1 << 30) / segBytes }

	mbps := func(name string) float64 { return float64(total) / (1 << 20) / importSecs[name] }
	fmt.Printf("store tier: %d segments, %.1f MB\n", len(segs), float64(total)/(1<<20))
	fmt.Printf("  import:         disk %.1f MB/s, SeaweedFS %.1f MB/s (%.2f of the disk's; plain PUTs of the same files %.1f MB/s)\n",
		mbps("disk"), mbps("s3"), mbps("s3")/mbps("disk"), mbps("put"))
	fmt.Printf("  playback start: disk %.1f ms, SeaweedFS %.1f ms (x%.1f), median of 7, playlist to first media bytes, cold\n",
		startMs["disk"], startMs["s3"], startMs["s3"]/startMs["disk"])
	fmt.Printf("  index:          %.0f bytes per segment; %.1f KB per stored GB of 5-minute segments at %.1f Mbit/s, %.1f KB at 4 Mbit/s\n",
		perSeg, perGB(demoSeg)/1024, demoSeg*8/300/1e6, perGB(4e6/8*300)/1024)
	b.ReportMetric(mbps("s3")/mbps("disk"), "import-ratio")
	b.ReportMetric(startMs["s3"], "start-ms-s3")
	b.ReportMetric(perGB(demoSeg), "index-B/GB")
	for b.Loop() {
	}
}
