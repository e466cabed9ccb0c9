package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/onvif"
)

// serveONVIF routes /api/v1/onvif/{discover,describe}.
func (a *Agent) serveONVIF(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/describe") {
		a.describeONVIF(w, r)
		return
	}
	a.discoverONVIF(w, r)
}

// DiscoverRequest asks a node to look for ONVIF cameras on its network.
type DiscoverRequest struct {
	// Node is the node whose network is searched: this one (empty) or one
	// below it, asked through the links' control path (NVMS-6.13 from
	// the centre).
	Node string `json:"node,omitempty"`
	// Targets are host:port addresses probed directly besides the
	// multicast group (cameras on another subnet, or behind a router that
	// drops multicast).
	Targets []string `json:"targets,omitempty"`
	// Timeout is how long answers are awaited (default 3s, at most 30s).
	Timeout string `json:"timeout,omitempty"`
	// NoMulticast probes the targets only.
	NoMulticast bool `json:"no_multicast,omitempty"`
	// User and Password, when given, describe every device found.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
}

// DiscoverResult is what a discovery found.
type DiscoverResult struct {
	Node      string              `json:"node"` // whose network was searched
	Devices   []onvif.Device      `json:"devices"`
	Ignored   int                 `json:"ignored"`
	Described []onvif.Description `json:"described,omitempty"`
	// Failed names the devices that could not be described, and why.
	Failed map[string]string `json:"failed,omitempty"`
}

// DescribeRequest names one device service, its login, and the node that
// asks it (this one, or one below).
type DescribeRequest struct {
	Node     string `json:"node,omitempty"`
	Device   string `json:"device"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
}

// discoverBusy lets one discovery run at a time: a storm of requests makes
// one probe, not a flood on the cameras' network.
var discoverBusy sync.Mutex

// maxRemoteAnswer bounds what a discovery below sends up the control path.
const maxRemoteAnswer = 60 << 10

// discoverONVIF is POST /api/v1/onvif/discover (engineer): a WS-Discovery
// probe from this node or one below, and each device described with the
// login given.
func (a *Agent) discoverONVIF(w http.ResponseWriter, r *http.Request) {
	var req DiscoverRequest
	if !decodeSmall(w, r, &req) {
		return
	}
	if a.forwardONVIF(w, r, federation.OpONVIFDiscover, req.Node, func() any { req.Node = ""; return req }) {
		return
	}
	res, err := a.discoverHere(r.Context(), req)
	if err != nil {
		writeONVIFError(w, err)
		return
	}
	a.log.Info("ONVIF discovery", "user", a.userName(r), "devices", len(res.Devices), "described", len(res.Described))
	httpjson.Write(w, http.StatusOK, res)
}

// describeONVIF is POST /api/v1/onvif/describe (engineer): who a device
// is, its profiles and their stream URIs, asked from this node or one
// below.
func (a *Agent) describeONVIF(w http.ResponseWriter, r *http.Request) {
	var req DescribeRequest
	if !decodeSmall(w, r, &req) {
		return
	}
	if a.forwardONVIF(w, r, federation.OpONVIFDescribe, req.Node, func() any { req.Node = ""; return req }) {
		return
	}
	desc, err := a.describeHere(r.Context(), req)
	if err != nil {
		writeONVIFError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, desc)
}

// forwardONVIF sends a discovery or a description to the node below that
// should make it, and answers with that node's answer. It reports false
// when the request is this node's to make.
func (a *Agent) forwardONVIF(w http.ResponseWriter, r *http.Request, op, node string, body func() any) bool {
	if node == "" || node == a.cfg.Node.ID {
		return false
	}
	if a.fedSrv == nil {
		httpjson.Error(w, http.StatusNotFound, fmt.Sprintf("node: %q is not below this node (it has no nodes below)", node))
		return true
	}
	user, role, _, ok := a.who(r)
	if !ok {
		user, role = "local", auth.RoleEngineer.String()
	}
	b, _ := json.Marshal(body())
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	ans, err := a.fedSrv.SendControl(ctx, federation.ControlReq{Op: op, Origin: node, User: user + "@" + a.cfg.Node.ID, Role: role, Body: b})
	switch {
	case errors.Is(err, federation.ErrNoRoute):
		httpjson.Error(w, http.StatusServiceUnavailable, fmt.Sprintf("node: no link leads to %s now", node))
	case err != nil:
		a.failed.add(node, op, err)
		httpjson.Error(w, http.StatusBadGateway, fmt.Sprintf("node %s: %v", node, err))
	default:
		a.log.Info("ONVIF asked below", "op", op, "node", node, "user", user, "status", ans.Status)
		writeAnswer(w, ans, "node "+node)
	}
	return true
}

// writeAnswer passes on the answer of a node below, if it reads as JSON.
func writeAnswer(w http.ResponseWriter, ans federation.ControlAnswer, who string) {
	var out bytes.Buffer
	if json.Indent(&out, ans.Body, "", "  ") != nil || ans.Status < 200 || ans.Status > 599 {
		httpjson.Error(w, http.StatusBadGateway, who+": the node below answered unreadably")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if ans.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "5") // as the node below would say
	}
	w.WriteHeader(ans.Status)
	_, _ = w.Write(append(out.Bytes(), '\n'))
}

// onvifError is a refusal with its HTTP status.
type onvifError struct {
	status int
	msg    string
}

func (e *onvifError) Error() string { return e.msg }

func onvifErr(status int, format string, args ...any) error {
	return &onvifError{status: status, msg: fmt.Sprintf(format, args...)}
}

func writeONVIFError(w http.ResponseWriter, err error) {
	var oe *onvifError
	if errors.As(err, &oe) {
		if oe.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "5")
		}
		httpjson.Error(w, oe.status, oe.msg)
		return
	}
	httpjson.Error(w, http.StatusBadGateway, err.Error())
}

// discoverHere probes this node's network.
func (a *Agent) discoverHere(ctx context.Context, req DiscoverRequest) (DiscoverResult, error) {
	timeout := 3 * time.Second
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 || d > 30*time.Second {
			return DiscoverResult{}, onvifErr(http.StatusBadRequest, "timeout: %q is not a duration of at most 30s", req.Timeout)
		}
		timeout = d
	}
	if len(req.Targets) > 256 {
		return DiscoverResult{}, onvifErr(http.StatusBadRequest, "targets: at most 256 addresses")
	}
	for _, t := range req.Targets {
		if _, _, err := net.SplitHostPort(t); err != nil {
			return DiscoverResult{}, onvifErr(http.StatusBadRequest, "targets: %q is not host:port (WS-Discovery listens on UDP 3702)", t)
		}
	}
	if !discoverBusy.TryLock() {
		return DiscoverResult{}, onvifErr(http.StatusTooManyRequests, "a discovery is running on node %s; ask again when it has ended", a.cfg.Node.ID)
	}
	defer discoverBusy.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Minute)
	defer cancel()
	found, err := onvif.Discover(ctx, onvif.DiscoverOptions{Timeout: timeout, Multicast: !req.NoMulticast, Targets: req.Targets})
	if err != nil {
		return DiscoverResult{}, err
	}
	res := DiscoverResult{Node: a.cfg.Node.ID, Devices: found.Devices, Ignored: found.Ignored}
	if res.Devices == nil {
		res.Devices = []onvif.Device{}
	}
	if req.User != "" {
		for _, d := range found.Devices {
			desc, err := (&onvif.Client{Device: d.XAddrs[0], User: req.User, Password: req.Password}).Describe(ctx)
			if err != nil {
				if res.Failed == nil {
					res.Failed = map[string]string{}
				}
				res.Failed[d.XAddrs[0]] = err.Error()
				continue
			}
			res.Described = append(res.Described, desc)
		}
	}
	return res, nil
}

// describeHere describes a device from this node.
func (a *Agent) describeHere(ctx context.Context, req DescribeRequest) (onvif.Description, error) {
	if req.Device == "" {
		return onvif.Description{}, onvifErr(http.StatusBadRequest, "device: the device service URL is required (http://HOST/onvif/device_service)")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	desc, err := (&onvif.Client{Device: req.Device, User: req.User, Password: req.Password}).Describe(ctx)
	var in *onvif.InputError
	if errors.As(err, &in) {
		return desc, onvifErr(http.StatusBadRequest, "%s", err.Error())
	}
	return desc, err
}

// applyONVIF makes a discovery or a description an ancestor's engineer
// asked for, on this node's network: the role they hold where they asked
// must be engineer or above, here too.
func (a *Agent) applyONVIF(ctx context.Context, req federation.ControlReq) federation.ControlAnswer {
	if role, err := auth.ParseRole(req.Role); err != nil || !role.AtLeast(auth.RoleEngineer) {
		return answerOf(http.StatusForbidden, map[string]string{"error": fmt.Sprintf("%s: finding cameras needs the engineer role (%s holds %q)", req.Op, req.User, req.Role)})
	}
	fail := func(err error) federation.ControlAnswer {
		status := http.StatusBadGateway
		var oe *onvifError
		if errors.As(err, &oe) {
			status = oe.status
		}
		return answerOf(status, map[string]string{"error": err.Error()})
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	dec.DisallowUnknownFields()
	var v any
	switch req.Op {
	case federation.OpONVIFDiscover:
		var dr DiscoverRequest
		if err := dec.Decode(&dr); err != nil {
			return answerOf(http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		}
		res, err := a.discoverHere(ctx, dr)
		if err != nil {
			return fail(err)
		}
		v = res
		a.log.Info("ONVIF discovery for an ancestor's engineer", "user", req.User, "role", req.Role, "devices", len(res.Devices))
	default:
		var dr DescribeRequest
		if err := dec.Decode(&dr); err != nil {
			return answerOf(http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()})
		}
		desc, err := a.describeHere(ctx, dr)
		if err != nil {
			return fail(err)
		}
		v = desc
		a.log.Info("ONVIF device described for an ancestor's engineer", "user", req.User, "device", dr.Device)
	}
	ans := answerOf(http.StatusOK, v)
	if len(ans.Body) > maxRemoteAnswer {
		return answerOf(http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf(
			"%s: the answer (%d KiB) is more than the links carry; narrow it with targets or without a login", req.Op, len(ans.Body)>>10)})
	}
	return ans
}

// decodeSmall reads a JSON body of at most 16 KiB with known fields only;
// an empty body is the zero request.
func decodeSmall(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpjson.Error(w, http.StatusRequestEntityTooLarge, "body: more than 16 KiB")
			return false
		}
		httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}
