package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plates"
)

// openIdentity loads the node's federation certificate, which the parent
// and child sides and the catalogue all speak with.
func (a *Agent) openIdentity() error {
	f := a.cfg.Federation
	// remote plugins know the node by its federation certificate too
	dials := false
	for _, p := range a.cfg.Plugins {
		dials = dials || p.Connect != ""
	}
	if !f.Enabled() && a.cfg.PluginsListen == "" && !dials {
		return nil
	}
	ident, err := pki.LoadIdentity(f.TLS.CA, f.TLS.Cert, f.TLS.Key, f.Revoked)
	if err != nil {
		return err
	}
	if ident.NodeID != a.cfg.Node.ID {
		return fmt.Errorf("federation.tls.cert names node %q but node.id is %q", ident.NodeID, a.cfg.Node.ID)
	}
	if time.Now().After(ident.NotAfter()) {
		a.log.Error("federation certificate expired: links will be refused until it is renewed",
			"not_after", ident.NotAfter())
	}
	a.ident = ident
	a.fedMetrics = federation.NewMetrics(a.reg)
	return nil
}

// maySpeakFor says whether child may send events of origin (besides its
// own): the configuration's descendants, and the catalogue's subtree when
// this node keeps a catalogue replica.
func (a *Agent) maySpeakFor(child, origin string) bool {
	if slices.Contains(a.cfg.Federation.Descendants[child], origin) {
		return true
	}
	return a.topo != nil && a.topo.Catalogue().MaySpeakFor(child, origin)
}

// confirmCatalogue brings the catalogue replica's view up to date (a
// linearizable read) before a child's origin is refused on it.
func (a *Agent) confirmCatalogue(ctx context.Context) error {
	if a.topo == nil {
		return nil
	}
	_, err := a.topo.ConsistentCatalogue(ctx)
	return err
}

// recordIncarnation puts a descendant's restart with an empty store on
// this node's audit chain, so that the loss is on record at every ancestor.
func (a *Agent) recordIncarnation(child, origin string, inc, previous uint64) {
	if a.audit == nil {
		return
	}
	_, _ = a.audit.Record(audit.Entry{User: "system", Action: audit.ActionNodeRestarted, Object: origin,
		Detail: fmt.Sprintf("%s started again with an empty store (incarnation %d, created %s, after incarnation %d), reported by %s",
			origin, inc, event.IncarnationTime(inc).Format(time.RFC3339), previous, child)})
}

// references says what a plate read or a camera alarm points to, for the
// referenced replication policy: the pass itself, or a little either side
// of the alarm.
func references(e event.Event) (string, time.Time, time.Time, bool) {
	if e.Camera == "" {
		return "", time.Time{}, time.Time{}, false
	}
	switch e.Kind {
	case plates.KindPlateRead:
		var r plates.PlateRead
		if json.Unmarshal(e.Payload, &r) != nil || r.First.IsZero() {
			return e.Camera, e.Time, e.Time, true
		}
		return e.Camera, r.First, r.Last, true
	case event.KindAlarmRaised:
		return e.Camera, e.Time.Add(-10 * time.Second), e.Time.Add(10 * time.Second), true
	}
	return "", time.Time{}, time.Time{}, false
}

// splitCamera parses an index camera key: "Camera1" is this node's own,
// "site-a/Camera1" a replica of site-a's.
func (a *Agent) splitCamera(key string) (origin, camera string) {
	if o, c, ok := strings.Cut(key, "/"); ok {
		return o, c
	}
	return a.cfg.Node.ID, key
}

// listIndex is this node's index for the parent's back-fill: its own
// segments and every replica it holds, in the origins' layout.
func (a *Agent) listIndex(since time.Time) ([]federation.IndexEntry, error) {
	x := a.archive.Index()
	cams, err := x.Cameras()
	if err != nil {
		return nil, err
	}
	var out []federation.IndexEntry
	for _, key := range cams {
		segs, err := x.Segments(key, since, time.Unix(math.MaxInt32*4, 0))
		if err != nil {
			return nil, err
		}
		origin, camera := a.splitCamera(key)
		for _, s := range segs {
			if s.Start.Before(since) {
				continue
			}
			s.Camera = camera
			if origin != a.cfg.Node.ID {
				rel, ok := archive.ReplicaRel(origin, s.Path) // .replicas/O/Camera1/... -> Camera1/...
				if !ok {
					continue // not in origin's replica folder: kuzet archive verify reports it
				}
				s.Path = rel
			}
			out = append(out, federation.IndexEntry{Origin: origin, Segment: s})
		}
	}
	return out, nil
}

// localFile is where this node holds origin's segment rel: its own or a
// replica, on its disk or in the archive's object store (the replicate
// puller asks it whether a segment is held).
func (a *Agent) localFile(origin, rel string) (string, error) {
	return a.archive.Held(a.cfg.Node.ID, origin, rel)
}

// serveFile opens a segment the parent asks for; a descendant's segment
// this node does not hold is first pulled from the child leading to it
// (NVMS-6.20). It is read through the archive, so a replica kept in the
// object store is served as well as one on the disk.
func (a *Agent) serveFile(origin, rel string) (federation.ServedFile, error) {
	if a.puller != nil {
		if _, err := a.puller.File(origin, rel); err != nil {
			return nil, err
		}
	}
	f, err := a.archive.OpenSegment(a.cfg.Node.ID, origin, rel)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// FetchRange pulls the segments of a descendant's camera ("origin/Camera")
// overlapping [from, to) that this node does not hold yet, ahead of every
// other fetch, and waits for them. It returns how many it pulled.
func (a *Agent) FetchRange(ctx context.Context, key string, from, to time.Time) (int, error) {
	origin, camera := a.splitCamera(key)
	if origin == a.cfg.Node.ID {
		return 0, nil
	}
	if a.puller == nil {
		return 0, fmt.Errorf("camera %s: this node has no children", key)
	}
	return a.puller.PullRange(ctx, origin, camera, from, to)
}

// openLive is a camera feed for a relay to the parent: this node's own
// camera, or a descendant's relayed through the child leading to it.
func (a *Agent) openLive(ctx context.Context, origin, camera string) (federation.LiveFeed, error) {
	if origin == a.cfg.Node.ID {
		if a.tap == nil {
			return nil, fmt.Errorf("camera %s: this node relays no cameras", camera)
		}
		if strings.HasSuffix(camera, config.SubStreamSuffix) {
			// pulled from the camera while the parent watches
			if err := a.ensureSub(ctx, camera); err != nil {
				return nil, err
			}
		}
		return a.tap.Subscribe(camera)
	}
	if a.fedSrv == nil {
		return nil, fmt.Errorf("node %s: %w", origin, federation.ErrNoRoute)
	}
	return a.fedSrv.OpenLive(ctx, origin, camera)
}

// childSlices is the federation server's source of catalogue slices, when
// this node keeps the catalogue.
func (a *Agent) childSlices() federation.SliceSource {
	if a.cfg.Topology.Listen == "" {
		return nil
	}
	return a.slices
}
