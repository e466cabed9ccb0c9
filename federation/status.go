package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/quic-go/quic-go"
)

// A centre watching fifty sites needs each one's cameras, disk and uplink
// at a glance, not only what its events say. An ancestor asks the node
// itself, through the links, when an operator looks: a fetch of kind
// "status" names the node; the child answers for itself or passes the
// question on towards it, and the bytes that come back are the node's
// NodeStatus as JSON.

// FetchStatus is the FetchReq kind of a node's status.
const FetchStatus = "status"

// maxStatus bounds a status answer: a node with hundreds of cameras
// stays far below it.
const maxStatus = 1 << 20

// NodeStatus is a node's health as it reports it.
type NodeStatus struct {
	Node    string         `json:"node"`
	Time    time.Time      `json:"time"` // its clock when it answered
	Cameras []CameraHealth `json:"cameras"`
	Disk    *DiskHealth    `json:"disk,omitempty"`
	Uplink  *UplinkHealth  `json:"uplink,omitempty"`
	Plugins []PluginHealth `json:"plugins,omitempty"`
}

// PluginHealth is one analytics plugin of the node (docs/plugins.md).
type PluginHealth struct {
	Name          string `json:"name"`
	State         string `json:"state"` // running | restarting | failed | starting | stopped; a remote one: waiting | connected | disconnected | failed
	Remote        bool   `json:"remote,omitempty"`
	Restarts      int    `json:"restarts"`
	FramesDropped uint64 `json:"frames_dropped"`
	EventsRefused uint64 `json:"events_refused"`
	LastError     string `json:"last_error,omitempty"`
}

// CameraHealth is one camera of the node.
type CameraHealth struct {
	ID          string  `json:"id"`
	State       string  `json:"state"`
	Reason      string  `json:"reason,omitempty"`
	FPS         float64 `json:"fps"`
	BitrateKbps float64 `json:"bitrate_kbps"`
	Recording   bool    `json:"recording"` // a file is being written now
	// RecordingSub: the file being written is the sub-stream's only (an
	// event-recorded camera between events).
	RecordingSub bool      `json:"recording_sub,omitempty"`
	LastSegment  time.Time `json:"last_segment,omitzero"`   // end of the newest closed segment
	Oldest       time.Time `json:"oldest_segment,omitzero"` // start of the oldest kept: how far back it reaches
}

// DiskHealth is the archive's file system.
type DiskHealth struct {
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
	FloorBytes uint64 `json:"floor_bytes"` // below it the oldest recordings are deleted
}

// UplinkHealth is the node's link to its parent.
type UplinkHealth struct {
	Parent      string  `json:"parent,omitempty"`
	Connected   bool    `json:"connected"`
	RTTms       float64 `json:"rtt_ms"`
	Backlog     uint64  `json:"backlog"` // events not yet acknowledged upstream
	ClockOffset float64 `json:"clock_offset_ms"`
}

// StatusSource answers for origin: this node itself, or a descendant
// asked through the child leading to it.
type StatusSource func(ctx context.Context, origin string) (NodeStatus, error)

// FetchStatus asks the child leading to origin for origin's status.
func (s *Server) FetchStatus(ctx context.Context, origin string) (NodeStatus, error) {
	var st NodeStatus
	conn, child, ok := s.route(origin)
	if !ok {
		return st, fmt.Errorf("status of %s: %w", origin, ErrNoRoute)
	}
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return st, fmt.Errorf("status via %s: %w", child, err)
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamFetch}); err != nil {
		return st, err
	}
	if err := WriteFrame(str, MsgFetch, FetchReq{Origin: origin, Kind: FetchStatus}); err != nil {
		return st, err
	}
	_ = str.Close()
	deadline := time.Now().Add(15 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = str.SetReadDeadline(deadline)
	var head FetchHead
	if err := Expect(str, MsgFetchHead, &head); err != nil {
		return st, fmt.Errorf("status of %s: %w", origin, err)
	}
	if head.Size < 0 || head.Size > maxStatus {
		return st, fmt.Errorf("status of %s from %s: %d bytes", origin, child, head.Size)
	}
	b := make([]byte, head.Size)
	if _, err := io.ReadFull(str, b); err != nil {
		return st, fmt.Errorf("status of %s: %w", origin, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("status of %s from %s: %w", origin, child, err)
	}
	if st.Node != origin {
		return NodeStatus{}, fmt.Errorf("status of %s from %s names node %q", origin, child, st.Node)
	}
	return st, nil
}

// serveStatus answers a status fetch.
func (c *Client) serveStatus(str *quic.Stream, req FetchReq) error {
	if c.o.Status == nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: "this node reports no status"})
	}
	ctx, cancel := context.WithTimeout(str.Context(), 12*time.Second)
	st, err := c.o.Status(ctx, req.Origin)
	cancel()
	if err != nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := WriteFrame(str, MsgFetchHead, FetchHead{Size: int64(len(b))}); err != nil {
		return err
	}
	_, err = str.Write(b)
	return err
}
