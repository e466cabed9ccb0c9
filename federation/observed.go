package federation

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/replicate"
)

// The observed hierarchy is what an operator sees of the nodes below this
// one: this node, and every node whose events reached it, placed by the
// path its events travelled, with camera states from their camera.state
// events and link state from the links and link_down alarms. It follows
// the event log in memory; the catalogue's planned tree is another thing.

// ObservedNode is one node of the observed hierarchy.
type ObservedNode struct {
	ID       string           `json:"id"`
	Status   string           `json:"status"` // online | offline | degraded
	Self     bool             `json:"self,omitempty"`
	LastSeen time.Time        `json:"last_seen,omitzero"`
	Cameras  []ObservedCamera `json:"cameras"`
	Children []*ObservedNode  `json:"children"`
	Health   *NodeHealth      `json:"health,omitempty"` // every node but this one
}

// NodeHealth is how a node below looks from here: its link, how current
// what arrived from it is, and what failed in asking it for video.
type NodeHealth struct {
	// Linked is set for a direct child: its link is up now; LinkSince is
	// when it came up or went down.
	Linked    *bool     `json:"linked,omitempty"`
	LinkSince time.Time `json:"link_since,omitzero"`
	// Via is the direct child whose link leads there.
	Via string `json:"via,omitempty"`
	// LastEvent is the newest of its events here (its own clock);
	// LastSegment the end of the newest segment it reported closed.
	LastEvent   time.Time `json:"last_event,omitzero"`
	LastSegment time.Time `json:"last_segment,omitzero"`
	// Backlog is what this node has yet to replicate from it.
	Backlog *replicate.Backlog `json:"backlog,omitempty"`
	// Failed counts the requests for its video and photos (live, ranges,
	// the last minutes, snapshots, replication) that failed here in the
	// last FailWindow; LastFailure says why the newest did, and when.
	Failed        int       `json:"failed"`
	LastFailure   string    `json:"last_failure,omitempty"`
	LastFailureAt time.Time `json:"last_failure_at,omitzero"`
}

// SubStreamSuffix marks a camera's sub-stream in live keys (as in config).
const SubStreamSuffix = "~sub"

// FailWindow is how far back NodeHealth.Failed counts.
const FailWindow = 10 * time.Minute

// ObservedCamera is one camera with where to watch and play it on this node.
type ObservedCamera struct {
	ID      string    `json:"id"`  // as recorded at its node
	Key     string    `json:"key"` // on this node: "Camera1" or "site-a/Camera1"
	Node    string    `json:"node"`
	State   string    `json:"state"` // streaming | failed | stopped | disabled | unknown
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since,omitzero"` // of its last state change reported (a descendant's camera)
	Live    string    `json:"live"`           // HLS playlist on this node
	Archive string    `json:"archive"`        // its last hour's segments on this node
	// Sub is the live key of its sub-stream on this node ("site-a/Camera1~sub"),
	// when the camera has one: small tiles play it.
	Sub string `json:"sub,omitempty"`
	// Codec of its stream when last streaming (h264, h265, mjpeg, mpeg4):
	// a console plays what the browser cannot at Key + "~h264".
	Codec string `json:"codec,omitempty"`
}

// CameraState is one of this node's own cameras as its session reports it.
type CameraState struct {
	ID, State, Reason string
	Sub               bool   // it has a sub-stream
	Codec             string // of its session, when streaming
}

// observedHistory is how much of the log seeds the hierarchy at start.
const observedHistory = 100000

// Observed follows the event log and builds the hierarchy from it.
type Observed struct {
	self string

	mu     sync.Mutex
	parent map[string]string            // origin -> the node its events came through
	seen   map[string]time.Time         // origin -> newest event time
	cams   map[string]map[string]camObs // origin -> camera -> last state
	linkDn map[string]bool              // node -> a link_down alarm is raised for it
	segEnd map[string]time.Time         // origin -> end of its newest closed segment
}

type camObs struct {
	state, reason string
	codec         string
	since         time.Time
	sub           bool
}

// NewObserved starts an empty hierarchy under the node self.
func NewObserved(self string) *Observed {
	return &Observed{self: self, parent: map[string]string{}, seen: map[string]time.Time{},
		cams: map[string]map[string]camObs{}, linkDn: map[string]bool{}, segEnd: map[string]time.Time{}}
}

// Observe takes one event into the hierarchy.
func (t *Observed) Observe(e event.Event) {
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
	// a recorded sub-stream (Camera1~sub) is a quality of its camera,
	// not a camera of the tree
	recordedSub := strings.HasSuffix(e.Camera, SubStreamSuffix)
	switch e.Kind {
	case event.KindCameraState:
		if recordedSub {
			break
		}
		var p struct{ State, Reason, Sub, Codec string }
		if json.Unmarshal(e.Payload, &p) == nil && e.Camera != "" {
			if t.cams[e.Origin] == nil {
				t.cams[e.Origin] = map[string]camObs{}
			}
			if p.Codec == "" {
				p.Codec = t.cams[e.Origin][e.Camera].codec // a failure keeps the codec it had
			}
			t.cams[e.Origin][e.Camera] = camObs{state: p.State, reason: p.Reason, since: e.Time, sub: p.Sub == "true", codec: p.Codec}
		}
	case event.KindSegmentClosed:
		var seg event.Segment
		if json.Unmarshal(e.Payload, &seg) == nil && seg.End.After(t.segEnd[e.Origin]) {
			t.segEnd[e.Origin] = seg.End
		}
		if e.Camera != "" && !recordedSub {
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

// Follow keeps the hierarchy current until ctx ends.
func (t *Observed) Follow(ctx context.Context, log *event.Log) {
	wake, stop := log.Watch(64)
	defer stop()
	pos := uint64(0)
	if last := log.Last(); last > observedHistory {
		pos = last - observedHistory
	}
	for {
		batch, err := log.Range(pos, 1000)
		if err != nil {
			return
		}
		for _, e := range batch {
			t.Observe(e)
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

// Hierarchy builds the hierarchy as this node sees it: own are this
// node's cameras, children its links as the server reports them.
func (t *Observed) Hierarchy(own []CameraState, children []ChildStatus) *ObservedNode {
	now := time.Now()
	connected := map[string]bool{}
	links := map[string]ChildStatus{}
	for _, c := range children {
		connected[c.NodeID] = c.Connected
		links[c.NodeID] = c
	}
	root := &ObservedNode{ID: t.self, Status: "online", Self: true, LastSeen: now, Cameras: []ObservedCamera{}}
	for _, st := range own {
		oc := t.camera(t.self, st.ID, st.State, st.Reason)
		oc.Codec = st.Codec
		if st.Sub {
			oc.Sub = oc.Key + SubStreamSuffix
		}
		root.Cameras = append(root.Cameras, oc)
	}
	if degraded(root.Cameras) {
		root.Status = "degraded"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	nodes := map[string]*ObservedNode{t.self: root}
	var get func(id string, depth int) *ObservedNode
	get = func(id string, depth int) *ObservedNode {
		if n, ok := nodes[id]; ok {
			return n
		}
		n := &ObservedNode{ID: id, LastSeen: t.seen[id], Cameras: []ObservedCamera{}, Children: []*ObservedNode{}}
		nodes[id] = n
		switch {
		case t.linkDn[id]:
			n.Status = "offline"
		case connected[id]:
			n.Status = "online"
		case t.parent[id] == t.self:
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
			oc := t.camera(id, c, o.state, o.reason)
			oc.Codec = o.codec
			oc.Since = o.since
			if o.sub {
				oc.Sub = oc.Key + SubStreamSuffix
			}
			n.Cameras = append(n.Cameras, oc)
		}
		n.Health = &NodeHealth{LastEvent: t.seen[id], LastSegment: t.segEnd[id], Via: t.via(id)}
		if l, ok := links[id]; ok {
			n.Health.Linked, n.Health.LinkSince = &l.Connected, l.Since
		}
		if n.Status == "online" && degraded(n.Cameras) {
			n.Status = "degraded"
		}
		p := t.parent[id]
		if p == "" || depth > 16 {
			p = t.self
		}
		parent := get(p, depth+1)
		parent.Children = append(parent.Children, n)
		return n
	}
	ids := make([]string, 0, len(t.parent))
	for id := range t.parent {
		if id != t.self {
			ids = append(ids, id)
		}
	}
	for id := range connected {
		if _, ok := t.parent[id]; !ok {
			t.parent[id] = t.self
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		get(id, 0)
	}
	if root.Children == nil {
		root.Children = []*ObservedNode{}
	}
	return root
}

// via is the direct child whose link leads to id, by the paths its
// events came; "" when none is known. The caller holds t.mu.
func (t *Observed) via(id string) string {
	for range 32 {
		p, ok := t.parent[id]
		if !ok {
			return ""
		}
		if p == t.self {
			return id
		}
		id = p
	}
	return ""
}

// CameraState is the last state origin reported for its camera.
func (t *Observed) CameraState(origin, camera string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.cams[origin][camera]
	return o.state, ok
}

// Walk visits every node of the hierarchy below n, n included.
func (n *ObservedNode) Walk(visit func(*ObservedNode)) {
	visit(n)
	for _, c := range n.Children {
		c.Walk(visit)
	}
}

func degraded(cams []ObservedCamera) bool {
	for _, c := range cams {
		if c.State == "failed" {
			return true
		}
	}
	return false
}

func (t *Observed) camera(origin, camera, state, reason string) ObservedCamera {
	key := camera
	if origin != t.self {
		key = event.ReplicaCamera(origin, camera)
	}
	if state == "" {
		state = "unknown"
	}
	now := time.Now().UTC()
	return ObservedCamera{ID: camera, Key: key, Node: origin, State: state, Reason: reason,
		Live: "/live/" + key + "/index.m3u8",
		Archive: "/api/v1/archive/segments?camera=" + url.QueryEscape(key) + "&from=" +
			now.Add(-time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Minute).Format(time.RFC3339)}
}
