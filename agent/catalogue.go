package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/topology"
)

// The catalogue (NVMS-6.3, 6.17, 6.18): a parent tier runs a replica of
// its level's Raft catalogue and sends each child its slice over the
// link; a site caches the slice and runs the cameras it names beside
// those of its own file, which win on the same ID (local overrides).

// slicePath is where a site caches its slice.
func (a *Agent) slicePath() string { return filepath.Join(a.cfg.Node.DataDir, "catalogue-slice.json") }

// secretKey is the node key that seals camera passwords at rest: in the
// cached slice and in the catalogue replica's log and snapshots. It is
// made on first start (DATA_DIR/secret.key, mode 0600).
func (a *Agent) secretKey() (*topology.SecretKey, error) {
	if a.nodeKey == nil && a.nodeKeyErr == nil {
		a.nodeKey, a.nodeKeyErr = topology.LoadOrCreateKey(filepath.Join(a.cfg.Node.DataDir, topology.KeyFile))
	}
	return a.nodeKey, a.nodeKeyErr
}

// cachedSlice loads the cached slice, if any.
func (a *Agent) cachedSlice() *topology.Slice {
	key, err := a.secretKey()
	if err != nil {
		a.log.Error("no node key; the cached catalogue slice is not read", "err", err)
		return nil // openCatalogue stops the start with the error
	}
	s, err := topology.LoadSlice(a.slicePath(), key)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.log.Error("cached catalogue slice unreadable; running the file's cameras only", "err", err)
		}
		return nil
	}
	a.log.Info("cameras from the cached catalogue slice", "revision", s.Revision, "cameras", len(s.Cameras))
	return s
}

// sliceCameras merges the file's cameras and zones with the slice's.
func (a *Agent) sliceCameras(s *topology.Slice) ([]config.Camera, []config.Zone, error) {
	out := append([]config.Camera(nil), a.cfg.Cameras...)
	if s == nil {
		return out, a.cfg.Zones, nil
	}
	var zones []config.Zone
	for _, z := range s.Zones {
		zones = append(zones, config.Zone{ID: z.ID, Name: z.Name, Kind: z.Kind, Forbidden: z.Forbidden,
			DwellLimit:  config.Duration(time.Duration(z.DwellLimitMinutes) * time.Minute),
			ReachWithin: config.Duration(time.Duration(z.ReachWithinMinutes) * time.Minute)})
	}
	local := map[string]bool{}
	for _, c := range a.cfg.Cameras {
		local[c.ID] = true
	}
	for _, c := range s.Cameras {
		if local[c.ID] {
			a.log.Info("camera kept as in the node's file (local override of the catalogue)", "camera", c.ID)
			continue
		}
		an := c.Analytics.ANPR
		cam := config.Camera{ID: c.ID, URL: c.URL, Transport: c.Transport, Direction: c.Direction,
			RetentionDays: c.RetentionDays, Disabled: c.Disabled, Zone: c.Zone, Lane: c.Lane, AllowedDirection: c.AllowedDirection,
			SubPath: c.SubPath, ONVIF: c.ONVIF,
			ANPR: config.CameraANPR{Enabled: an.Enabled, FPS: an.FPS, Keyframes: an.KeyframesOnly, ROI: an.ROI,
				Countries: an.Countries, Axis: an.Axis}}
		if in := an.Ingest; in != nil {
			cam.ANPR.Ingest = &config.CameraIngest{Format: in.Format, TokenSHA256: in.TokenSHA256, From: in.From}
		}
		if r := c.Record; r != nil {
			cam.Record = config.Record{Mode: r.Mode, Pre: config.Duration(time.Duration(r.PreSeconds) * time.Second),
				Post: config.Duration(time.Duration(r.PostSeconds) * time.Second), On: r.On, Schedule: r.Schedule,
				Motion: config.RecordMotion{FPS: r.MotionFPS, Threshold: r.MotionThreshold, Mask: r.MotionMask}, Sub: r.Sub}
		}
		out = append(out, cam)
	}
	return a.cfg.CheckCameras(out, zones)
}

// onSlice stores a slice from the parent and applies it.
func (a *Agent) onSlice(rev uint64, b []byte) error {
	s, err := topology.ParseSlice(b)
	if err != nil {
		return err
	}
	if s.Node != a.cfg.Node.ID {
		return fmt.Errorf("slice is for node %q, this is %q", s.Node, a.cfg.Node.ID)
	}
	cams, zones, err := a.sliceCameras(s)
	if err != nil {
		return fmt.Errorf("slice revision %d: %w", rev, err)
	}
	key, err := a.secretKey()
	if err != nil {
		return err
	}
	if err := topology.SaveSlice(a.slicePath(), s, key); err != nil {
		return err
	}
	if a.ident != nil {
		a.ident.SetRevoked(append(append([]string(nil), a.cfg.Federation.Revoked...), s.RevokedSerials()...))
	}
	if a.fedCli != nil {
		a.fedCli.SetUpstream(s.Upstream) // fail over to every replica of the parent
	}
	a.setZones(zones)
	a.configureDesk(s)
	a.ApplyCameras(cams)
	if err := a.reloadPlugins(s); err != nil {
		a.log.Error("plugins of the slice", "revision", rev, "err", err)
	}
	return nil
}

// openCatalogue starts this node's catalogue replica, if configured.
func (a *Agent) openCatalogue() error {
	key, err := a.secretKey()
	if err != nil {
		return err
	}
	t := a.cfg.Topology
	if t.Listen == "" {
		return nil
	}
	if a.ident == nil {
		return errors.New("topology.listen: the catalogue needs federation.tls")
	}
	var peers []topology.Peer
	for _, p := range t.Peers {
		peers = append(peers, topology.Peer{ID: p.ID, Address: p.Address})
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := topology.Start(ctx, topology.Options{
		Identity: a.ident, Dir: t.Dir, Key: key, Listen: t.Listen, Advertise: t.Advertise, Bootstrap: t.Bootstrap, Peers: peers,
		HeartbeatTimeout: t.HeartbeatTimeout.Std(), ElectionTimeout: t.ElectionTimeout.Std(),
		LeaderLeaseTimeout: t.LeaderLeaseTimeout.Std(), CommitTimeout: t.CommitTimeout.Std(), ApplyTimeout: t.ApplyTimeout.Std(),
		SnapshotInterval: t.SnapshotInterval.Std(), SnapshotThreshold: t.SnapshotThreshold, TrailingLogs: t.TrailingLogs,
		Logger: a.log.With("component", "topology"), Registerer: a.reg,
	})
	if err != nil {
		cancel()
		return fmt.Errorf("topology: %w", err)
	}
	a.topo, a.topoStop = r, cancel
	a.life.onClose("catalogue replica", func() error {
		err := a.topo.Close()
		a.topoStop()
		return err
	})
	a.life.loop("catalogue", a.watchCatalogue)
	return nil
}

// slices answers the federation server: a child's slice of the catalogue.
func (a *Agent) slices(child string) (uint64, []byte, bool) {
	s, err := a.topo.SliceFor(child)
	if err != nil {
		return 0, nil, false
	}
	b, err := json.Marshal(s)
	if err != nil {
		return 0, nil, false
	}
	return s.Revision, b, true
}

// watchCatalogue applies the catalogue's revocations to this node's links
// and wakes the children's config loops on every change.
func (a *Agent) watchCatalogue(ctx context.Context) {
	changes := a.topo.Watch(ctx)
	for {
		revoked := append([]string(nil), a.cfg.Federation.Revoked...)
		for _, n := range a.topo.Catalogue().Nodes() {
			if n.Revoked && n.CertSerial != "" {
				revoked = append(revoked, n.CertSerial)
			}
		}
		a.ident.SetRevoked(revoked)
		if a.fedSrv != nil {
			a.fedSrv.DropRevoked()
			a.fedSrv.NotifyConfig()
		}
		if _, ok := <-changes; !ok {
			return
		}
	}
}

// catalogueHandlers serve the catalogue API: reading the tree for
// viewers, changes (audited) for engineers, users and membership for
// admins (the roles are the route table's).
func (a *Agent) catalogueHandlers(h *api.Handlers) {
	if a.topo == nil {
		return
	}
	h.Catalogue = http.StripPrefix(topology.APIPath, a.topo.Handler(topology.HandlerOptions{Status: a.nodeStatus}))
	h.Changes = auditWrites(a, h.Catalogue)
}

// nodeStatus is the liveness the tree shows beside the catalogue.
func (a *Agent) nodeStatus() map[string]string {
	out := map[string]string{}
	var walk func(n *federation.ObservedNode)
	walk = func(n *federation.ObservedNode) {
		out[n.ID] = n.Status
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(a.Tree())
	return out
}

// maxAuditedBody bounds the request body read to describe a change; the
// catalogue refuses larger ones anyway.
const maxAuditedBody = 1 << 20

// auditWrites records every change request (not reads) before serving it:
// who, the request, and what it changes, field by field, secrets left out
// (topology.DescribeChange). When the entry cannot be stored the change
// is refused (503), so nothing happens unrecorded.
func auditWrites(a *Agent, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxAuditedBody+1))
		// the handler reads the body again, all of it
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		var detail string
		switch {
		case err != nil:
			detail = "(request body unreadable)"
		case len(body) > maxAuditedBody:
			detail = "(request body too large to describe)"
		default:
			detail = topology.DescribeChange(a.topo.Catalogue(), r.Method, strings.TrimPrefix(r.URL.Path, topology.APIPath), body)
		}
		e := audit.Entry{Action: audit.ActionTopologyChange, User: "anonymous", Source: r.RemoteAddr,
			Object: r.Method + " " + r.URL.RequestURI(), Detail: detail}
		if u, role, src, ok := a.who(r); ok {
			e.User, e.Role, e.Source = u, role, src
		}
		if _, err := a.audit.Record(e); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "not done: the audit log is unavailable: " + err.Error()})
			return
		}
		h.ServeHTTP(w, r)
	})
}
