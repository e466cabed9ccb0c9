package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// An operator at an ancestor turns a camera of a node below (PTZ,
// NVMS-6.20): the request travels down the links, hop by hop, to the
// camera's node, which checks the operator's role and its lock, drives
// the camera and answers with its state. Each request is a stream of its
// own on the control path, ahead of live video and bulk transfers, and
// answered within a moment. What a request says is the camera node's and
// the issuing node's business: the links carry it as JSON.

// ControlReq is a request to a camera of a node below.
type ControlReq struct {
	Op     string          `json:"op,omitempty"` // OpPTZ (the default), OpONVIFDiscover, OpONVIFDescribe
	Origin string          `json:"origin"`       // the camera's node (the node asked)
	Camera string          `json:"camera"`       // as its node names it (PTZ only)
	User   string          `json:"user"`         // name@node of the operator
	Role   string          `json:"role"`         // their role where they asked
	Body   json.RawMessage `json:"body"`         // the request, as the camera's node reads it
}

// ControlAnswer is the camera node's answer: an HTTP status and a body.
type ControlAnswer struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// Operations on the control path (ControlReq.Op).
const (
	OpPTZ           = ""               // a camera's head
	OpONVIFDiscover = "onvif.discover" // a WS-Discovery probe on the node's network
	OpONVIFDescribe = "onvif.describe" // one ONVIF device described
)

// controlTimeout bounds one hop's wait for a PTZ command; each hop below
// waits less. A discovery waits for the cameras' answers and describes
// what answered: slowControlTimeout.
const (
	controlTimeout     = 10 * time.Second
	slowControlTimeout = 90 * time.Second
)

func (r ControlReq) timeout() time.Duration {
	if r.Op == OpPTZ {
		return controlTimeout
	}
	return slowControlTimeout
}

// what names the request's object in errors.
func (r ControlReq) what() string {
	if r.Op == OpPTZ {
		return "camera " + r.Origin + "/" + r.Camera
	}
	return "node " + r.Origin
}

// Validate checks a request's fields.
func (r ControlReq) Validate() error {
	switch {
	case r.Op != OpPTZ && r.Op != OpONVIFDiscover && r.Op != OpONVIFDescribe:
		return fmt.Errorf("control: unknown operation %q", r.Op)
	case r.Origin == "" || r.User == "" || (r.Op == OpPTZ) != (r.Camera != ""):
		return errors.New("control needs origin and user, and a camera for PTZ only")
	case len(r.Camera) > 256 || len(r.User) > 256 || len(r.Role) > 64 || len(r.Body) > 16<<10:
		return errors.New("control request too long")
	}
	return nil
}

// SendControl sends a request down the link that leads to its camera's
// node and returns that node's answer. ErrNoRoute: no linked child leads
// there now.
func (s *Server) SendControl(ctx context.Context, req ControlReq) (ControlAnswer, error) {
	if err := req.Validate(); err != nil {
		return ControlAnswer{}, err
	}
	conn, child, ok := s.route(req.Origin)
	if !ok {
		return ControlAnswer{}, fmt.Errorf("%s: %w", req.what(), ErrNoRoute)
	}
	ans, err := sendControl(ctx, conn, req)
	if err != nil {
		return ControlAnswer{}, fmt.Errorf("%s via %s: %w", req.what(), child, err)
	}
	return ans, nil
}

func sendControl(ctx context.Context, conn *quic.Conn, req ControlReq) (ControlAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, req.timeout())
	defer cancel()
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return ControlAnswer{}, err
	}
	defer finish(str)
	if err := WriteFrame(str, MsgOpen, Open{Kind: StreamControl}); err != nil {
		return ControlAnswer{}, err
	}
	if err := WriteFrame(str, MsgControl, req); err != nil {
		return ControlAnswer{}, err
	}
	_ = str.Close()
	dl, _ := ctx.Deadline()
	_ = str.SetReadDeadline(dl)
	var ans ControlAnswer
	if err := expectLimit(str, MsgControlDone, &ans, maxRequestFrame); err != nil {
		return ControlAnswer{}, err
	}
	return ans, nil
}

// serveControl hands a request from the parent to the node (which drives
// its camera or passes it on) and answers.
func (c *Client) serveControl(str *quic.Stream) error {
	var req ControlReq
	if err := expectLimit(str, MsgControl, &req, maxRequestFrame); err != nil {
		return err
	}
	err := req.Validate()
	if err == nil && c.o.Control == nil {
		err = errors.New("this node drives no cameras for its ancestors")
	}
	if err != nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
	}
	ctx, cancel := context.WithTimeout(str.Context(), req.timeout()*3/4)
	defer cancel()
	ans, err := c.o.Control(ctx, req)
	if err != nil {
		return WriteFrame(str, MsgError, ErrorMsg{Message: err.Error()})
	}
	return WriteFrame(str, MsgControlDone, ans)
}
