package agent

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/kuzet/kuzet/federation"
)

// statusOf is a node's health for the sites dashboard: this node's own,
// or a descendant's asked through the links (federation/status.go).
func (a *Agent) statusOf(ctx context.Context, origin string) (federation.NodeStatus, error) {
	if origin == a.cfg.Node.ID {
		return a.ownStatus(), nil
	}
	if a.fedSrv == nil {
		return federation.NodeStatus{}, fmt.Errorf("status of %s: %w", origin, federation.ErrNoRoute)
	}
	st, err := a.fedSrv.FetchStatus(ctx, origin)
	if err != nil {
		a.failed.add(origin, "status", err)
	}
	return st, err
}

// ownStatus is this node's cameras, disk and uplink now.
func (a *Agent) ownStatus() federation.NodeStatus {
	st := federation.NodeStatus{Node: a.cfg.Node.ID, Time: time.Now().UTC(), Cameras: []federation.CameraHealth{}}
	x := a.archive.Index()
	for _, c := range a.site.Status() {
		ch := federation.CameraHealth{ID: c.ID, State: string(c.State), Reason: c.Reason, FPS: c.FPS, BitrateKbps: c.BitrateKbps}
		// an event-recorded camera is recording while its sub-stream is
		keys := []string{c.ID}
		if c.Sub != nil {
			keys = append(keys, c.Sub.ID)
		}
		for _, k := range keys {
			_, open := a.archive.Open(k)
			ch.Recording = ch.Recording || open
			ch.RecordingSub = ch.RecordingSub || (open && k != c.ID)
			if s, ok, _ := x.LastSegment(k); ok && s.End.After(ch.LastSegment) {
				ch.LastSegment = s.End
			}
			if s, ok, _ := x.FirstSegment(k); ok && (ch.Oldest.IsZero() || s.Start.Before(ch.Oldest)) {
				ch.Oldest = s.Start
			}
		}
		st.Cameras = append(st.Cameras, ch)
	}
	if free, total, floor, err := a.archive.Disk(); err == nil {
		st.Disk = &federation.DiskHealth{FreeBytes: free, TotalBytes: total, FloorBytes: floor}
	}
	for _, p := range a.pluginList() {
		st.Plugins = append(st.Plugins, federation.PluginHealth{Name: p.Name, State: p.State, Remote: p.Remote, Restarts: p.Restarts,
			FramesDropped: p.FramesDropped, EventsRefused: p.EventsRefused, LastError: p.LastError})
	}
	if a.fedCli != nil {
		l := a.fedCli.Status()
		st.Uplink = &federation.UplinkHealth{Parent: l.Parent, Connected: l.Connected, Backlog: l.Backlog,
			RTTms: float64(l.RTT) / 1e6, ClockOffset: float64(l.ClockOffset) / 1e6}
	}
	return st
}

// siteHealth is one node on the dashboard: its status, or why it could
// not be had.
type siteHealth struct {
	Node   string                 `json:"node"`
	Status *federation.NodeStatus `json:"status,omitempty"`
	Error  string                 `json:"error,omitempty"`
	Took   float64                `json:"took_ms"`
}

// sitesHealth answers GET /api/v1/sites/health: every node of the tree,
// this one first, each asked at once (16 at a time, 5 s each).
func (a *Agent) sitesHealth(w http.ResponseWriter, r *http.Request) {
	// the tree's nodes only: not Tree(), whose health scans the fetch queue
	var children []federation.ChildStatus
	if a.fedSrv != nil {
		children = a.fedSrv.Children()
	}
	var ids []string
	a.tree.Hierarchy(nil, children).Walk(func(n *federation.ObservedNode) { ids = append(ids, n.ID) })
	out := make([]siteHealth, len(ids))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			t0 := time.Now()
			st, err := a.statusOf(ctx, id)
			out[i] = siteHealth{Node: id, Took: float64(time.Since(t0).Microseconds()) / 1000}
			if err != nil {
				out[i].Error = err.Error()
			} else {
				out[i].Status = &st
			}
		}()
	}
	wg.Wait()
	sort.SliceStable(out[1:], func(i, k int) bool { return out[1+i].Node < out[1+k].Node })
	writeJSON(w, out)
}
