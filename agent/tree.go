package agent

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
)

// The tree is what an operator sees of the hierarchy: this node, and every
// node whose events reached it, placed by the path its events travelled,
// with camera states from their camera.state events and link state from
// the links and link_down alarms. It follows the event log in memory.

// TreeNode is one node of the hierarchy.
type TreeNode struct {
	ID       string       `json:"id"`
	Status   string       `json:"status"` // online | offline | degraded
	Self     bool         `json:"self,omitempty"`
	LastSeen time.Time    `json:"last_seen,omitzero"`
	Cameras  []TreeCamera `json:"cameras"`
	Children []*TreeNode  `json:"children"`
}

// TreeCamera is one camera with where to watch and play it on this node.
type TreeCamera struct {
	ID      string `json:"id"`  // as recorded at its node
	Key     string `json:"key"` // on this node: "Camera1" or "site-a/Camera1"
	Node    string `json:"node"`
	State   string `json:"state"` // streaming | failed | stopped | disabled | unknown
	Reason  string `json:"reason,omitempty"`
	Live    string `json:"live"`    // HLS playlist on this node
	Archive string `json:"archive"` // its last hour's segments on this node
}

// treeHistory is how much of the log seeds the tree at start.
const treeHistory = 100000

type treeTracker struct {
	self string

	mu     sync.Mutex
	parent map[string]string            // origin -> the node its events came through
	seen   map[string]time.Time         // origin -> newest event time
	cams   map[string]map[string]camObs // origin -> camera -> last state
	linkDn map[string]bool              // node -> a link_down alarm is raised for it
}

type camObs struct {
	state, reason string
}

func newTreeTracker(self string) *treeTracker {
	return &treeTracker{self: self, parent: map[string]string{}, seen: map[string]time.Time{},
		cams: map[string]map[string]camObs{}, linkDn: map[string]bool{}}
}

func (t *treeTracker) observe(e event.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// the path lists the nodes an event passed, origin first: each node's
	// parent is the one after it
	for i := 0; i+1 < len(e.Path); i++ {
		t.parent[e.Path[i]] = e.Path[i+1]
	}
	if e.Time.After(t.seen[e.Origin]) {
		t.seen[e.Origin] = e.Time
	}
	switch e.Kind {
	case event.KindCameraState:
		var p struct{ State, Reason string }
		if json.Unmarshal(e.Payload, &p) == nil && e.Camera != "" {
			if t.cams[e.Origin] == nil {
				t.cams[e.Origin] = map[string]camObs{}
			}
			t.cams[e.Origin][e.Camera] = camObs{state: p.State, reason: p.Reason}
		}
	case event.KindSegmentClosed:
		if e.Camera != "" {
			if t.cams[e.Origin] == nil {
				t.cams[e.Origin] = map[string]camObs{}
			}
			if _, ok := t.cams[e.Origin][e.Camera]; !ok {
				t.cams[e.Origin][e.Camera] = camObs{state: "unknown"}
			}
		}
	case event.KindAlarmRaised, event.KindAlarmCleared:
		var a event.Alarm
		if json.Unmarshal(e.Payload, &a) == nil && a.Type == event.AlarmLinkDown {
			_, child, _ := strings.Cut(a.Key, ":")
			t.linkDn[child] = e.Kind == event.KindAlarmRaised
		}
	}
}

// follow keeps the tree current until ctx ends.
func (t *treeTracker) follow(ctx context.Context, log *event.Log) {
	wake, stop := log.Watch(64)
	defer stop()
	pos := uint64(0)
	if last := log.Last(); last > treeHistory {
		pos = last - treeHistory
	}
	for {
		batch, err := log.Range(pos, 1000)
		if err != nil {
			return
		}
		for _, e := range batch {
			t.observe(e)
			pos = e.Pos
		}
		if len(batch) == 1000 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(5 * time.Second):
		}
	}
}

// Tree builds the hierarchy as this node sees it.
func (a *Agent) Tree() *TreeNode {
	t := a.tree
	now := time.Now()
	connected := map[string]bool{}
	if a.fedSrv != nil {
		for _, c := range a.fedSrv.Children() {
			connected[c.NodeID] = c.Connected
		}
	}
	root := &TreeNode{ID: a.cfg.Node.ID, Status: "online", Self: true, LastSeen: now, Cameras: []TreeCamera{}}
	for _, st := range a.site.Status() {
		root.Cameras = append(root.Cameras, a.treeCamera(a.cfg.Node.ID, st.ID, string(st.State), st.Reason))
	}
	if a.degraded(root.Cameras) {
		root.Status = "degraded"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	nodes := map[string]*TreeNode{a.cfg.Node.ID: root}
	var get func(id string, depth int) *TreeNode
	get = func(id string, depth int) *TreeNode {
		if n, ok := nodes[id]; ok {
			return n
		}
		n := &TreeNode{ID: id, LastSeen: t.seen[id], Cameras: []TreeCamera{}, Children: []*TreeNode{}}
		nodes[id] = n
		switch {
		case t.linkDn[id]:
			n.Status = "offline"
		case connected[id]:
			n.Status = "online"
		case t.parent[id] == a.cfg.Node.ID:
			n.Status = "offline" // a direct child not linked now
		case now.Sub(t.seen[id]) < 15*time.Minute:
			n.Status = "online"
		default:
			n.Status = "offline"
		}
		cams := make([]string, 0, len(t.cams[id]))
		for c := range t.cams[id] {
			cams = append(cams, c)
		}
		sort.Strings(cams)
		for _, c := range cams {
			o := t.cams[id][c]
			n.Cameras = append(n.Cameras, a.treeCamera(id, c, o.state, o.reason))
		}
		if n.Status == "online" && a.degraded(n.Cameras) {
			n.Status = "degraded"
		}
		p := t.parent[id]
		if p == "" || depth > 16 {
			p = a.cfg.Node.ID
		}
		parent := get(p, depth+1)
		parent.Children = append(parent.Children, n)
		return n
	}
	ids := make([]string, 0, len(t.parent))
	for id := range t.parent {
		if id != a.cfg.Node.ID {
			ids = append(ids, id)
		}
	}
	for id := range connected {
		if _, ok := t.parent[id]; !ok {
			t.parent[id] = a.cfg.Node.ID
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		get(id, 0)
	}
	if root.Children == nil {
		root.Children = []*TreeNode{}
	}
	return root
}

func (a *Agent) degraded(cams []TreeCamera) bool {
	for _, c := range cams {
		if c.State == "failed" {
			return true
		}
	}
	return false
}

func (a *Agent) treeCamera(origin, camera, state, reason string) TreeCamera {
	key := camera
	if origin != a.cfg.Node.ID {
		key = event.ReplicaCamera(origin, camera)
	}
	if state == "" {
		state = "unknown"
	}
	now := time.Now().UTC()
	return TreeCamera{ID: camera, Key: key, Node: origin, State: state, Reason: reason,
		Live: "/live/" + key + "/index.m3u8",
		Archive: "/api/v1/archive/segments?camera=" + url.QueryEscape(key) + "&from=" +
			now.Add(-time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Minute).Format(time.RFC3339)}
}
