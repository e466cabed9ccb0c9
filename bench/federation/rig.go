package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/replicate"
)

// runCA is the federation CA of the run; identities are issued on demand.
type runCA struct {
	dir string
}

func newPKI(dir string) (*runCA, error) {
	if err := pki.InitCA(dir, "bench federation", 24*time.Hour); err != nil {
		return nil, err
	}
	return &runCA{dir: dir}, nil
}

func (p *runCA) issue(id string) (pki.Issued, error) {
	return pki.IssueNode(p.dir, id, p.dir, time.Time{}, 24*time.Hour)
}

func (p *runCA) identity(id string) (*pki.Identity, error) {
	iss, err := p.issue(id)
	if err != nil {
		return nil, err
	}
	return pki.LoadIdentity(filepath.Join(p.dir, pki.CACertFile), iss.CertPath, iss.KeyPath, nil)
}

// segFile is one source segment a child serves: random bytes, as
// incompressible as video.
type segFile struct {
	rel   string
	start time.Time
	size  int64
	sum   string
}

// makeSegments writes n files of size bytes under dir in the archive layout.
func makeSegments(ctx context.Context, dir string, n int, size int64) ([]segFile, error) {
	base := time.Date(2025, 8, 18, 9, 0, 0, 0, time.UTC)
	buf := make([]byte, size)
	out := make([]segFile, 0, n)
	for i := range n {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		start := base.Add(time.Duration(i) * time.Minute)
		rel := archive.SegmentPath("Camera1", start, time.UTC, 0)
		_, _ = rand.Read(buf)
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(buf)
		out = append(out, segFile{rel: rel, start: start, size: size, sum: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// rig is one parent (region) linked in-process, over real QUIC on
// loopback, with its children (sites).
type rig struct {
	dir     string
	log     *event.Log
	arch    *archive.Archive
	queue   *replicate.Queue
	srv     *federation.Server
	metrics *federation.Metrics
	stopSrv func()
	kids    []*kid
}

type kid struct {
	id   string
	log  *event.Log
	cl   *federation.Client
	stop func()
}

type rigConfig struct {
	perChild  float64 // bytes/s, 0: unlimited
	total     float64 // bytes/s, 0: unlimited
	heartbeat time.Duration
	kids      []string
	srcDir    string // what the children serve
}

func (b *bench) newRig(ctx context.Context, name string, c rigConfig) (r *rig, err error) {
	dir, err := os.MkdirTemp(b.root, name+"-")
	if err != nil {
		return nil, err
	}
	r = &rig{dir: dir}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.log, err = event.OpenLog(filepath.Join(dir, "region-events.db"), "region", nil); err != nil {
		return r, err
	}
	if r.arch, err = archive.Open(archive.Options{Root: filepath.Join(dir, "region-archive")}); err != nil {
		return r, err
	}
	if r.queue, err = replicate.OpenQueue(filepath.Join(dir, "region-replicate.db")); err != nil {
		return r, err
	}
	r.metrics = federation.NewMetrics(nil)
	puller := &replicate.Puller{Queue: r.queue, Store: replicate.StoreFunc(func(ctx context.Context, origin string, s event.Segment) (replicate.Part, error) {
		return r.arch.OpenPart(ctx, origin, s)
	}), PerChild: c.perChild, Total: replicate.NewLimiter(c.total)}
	r.srv, err = federation.Listen(federation.ServerOptions{
		Listen: "127.0.0.1:0", Identity: b.regionID, Log: r.log, Metrics: r.metrics,
		MaySpeakFor: func(child, origin string) bool { return child == "site" && origin == "grandchild" },
		Puller:      puller,
	})
	if err != nil {
		return r, err
	}
	puller.Routes = r.srv.Descendants
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.srv.Run(sctx); close(done) }()
	r.stopSrv = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			fmt.Fprintln(os.Stderr, "bench: the parent did not stop within 15 s")
		}
	}
	for _, id := range c.kids {
		ident, err := b.identityFor(id)
		if err != nil {
			return r, err
		}
		l, err := event.OpenLog(filepath.Join(dir, id+"-events.db"), id, nil)
		if err != nil {
			return r, err
		}
		k := &kid{id: id, log: l}
		src := c.srcDir
		k.cl = federation.NewClient(federation.ClientOptions{
			Upstream: []string{r.srv.Addr()}, Identity: ident, Log: l, Heartbeat: c.heartbeat, BackoffMax: time.Second,
			Control: answerControl,
			Files: federation.PathSource(func(_, rel string) (string, error) {
				if err := event.CheckRel(rel); err != nil {
					return "", err
				}
				return filepath.Join(src, filepath.FromSlash(rel)), nil
			}),
		})
		kctx, kcancel := context.WithCancel(context.Background())
		kdone := make(chan struct{})
		go func() { k.cl.Run(kctx); close(kdone) }()
		k.stop = func() {
			kcancel()
			select {
			case <-kdone:
			case <-time.After(15 * time.Second):
				fmt.Fprintf(os.Stderr, "bench: child %s did not stop within 15 s\n", k.id)
			}
		}
		r.kids = append(r.kids, k)
	}
	err = waitFor(ctx, 15*time.Second, "the children to link", func() bool {
		for _, k := range r.kids {
			if !k.cl.Status().Connected {
				return false
			}
		}
		return true
	})
	return r, err
}

// queueAll queues every segment for every child, as the parent's planner
// does once it learns of closed segments.
func (r *rig) queueAll(segs []segFile) error {
	var fs []replicate.Fetch
	for _, k := range r.kids {
		for _, s := range segs {
			fs = append(fs, replicate.Fetch{Child: k.id, Origin: k.id, Camera: "Camera1", Start: s.start,
				End: s.start.Add(time.Minute), Path: s.rel, Bytes: s.size, SHA256: s.sum})
		}
	}
	return r.queue.Add(fs...)
}

// received is what the parent holds of origin's files: bytes in part files
// and finished replicas, and how many replicas are finished.
func (r *rig) received(origin string) (bytes int64, done int, err error) {
	root := filepath.Join(r.arch.Root(), archive.ReplicaDir, origin) // replicas live apart from own cameras
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // renamed mid-walk, or nothing yet
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		bytes += fi.Size()
		if !strings.HasSuffix(p, ".part") {
			done++
		}
		return nil
	})
	return bytes, done, err
}

func (r *rig) close() {
	var wg sync.WaitGroup
	for _, k := range r.kids {
		wg.Add(1)
		go func() { defer wg.Done(); k.stop() }()
	}
	wg.Wait()
	if r.stopSrv != nil {
		r.stopSrv()
	} else if r.srv != nil {
		r.srv.Close()
	}
	for _, k := range r.kids {
		_ = k.log.Close()
	}
	if r.queue != nil {
		_ = r.queue.Close()
	}
	if r.arch != nil {
		_ = r.arch.Close()
	}
	if r.log != nil {
		_ = r.log.Close()
	}
	_ = os.RemoveAll(r.dir)
}

// waitFor polls cond every 20 ms until it holds, d passes or ctx ends.
func waitFor(ctx context.Context, d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// sleepCtx sleeps d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
