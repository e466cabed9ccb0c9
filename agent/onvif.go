package agent

import (
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

// DiscoverRequest asks the node to look for ONVIF cameras on its network.
type DiscoverRequest struct {
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
	Devices   []onvif.Device      `json:"devices"`
	Ignored   int                 `json:"ignored"`
	Described []onvif.Description `json:"described,omitempty"`
	// Failed names the devices that could not be described, and why.
	Failed map[string]string `json:"failed,omitempty"`
}

// discoverBusy lets one discovery run at a time: a storm of requests makes
// one probe, not a flood on the cameras' network.
var discoverBusy sync.Mutex

// discoverONVIF is POST /api/v1/onvif/discover (engineer): a WS-Discovery
// probe from this node, and each device described with the login given.
func (a *Agent) discoverONVIF(w http.ResponseWriter, r *http.Request) {
	var req DiscoverRequest
	if !decodeSmall(w, r, &req) {
		return
	}
	timeout := 3 * time.Second
	if req.Timeout != "" {
		d, err := time.ParseDuration(req.Timeout)
		if err != nil || d <= 0 || d > 30*time.Second {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("timeout: %q is not a duration of at most 30s", req.Timeout))
			return
		}
		timeout = d
	}
	if len(req.Targets) > 256 {
		httpjson.Error(w, http.StatusBadRequest, "targets: at most 256 addresses")
		return
	}
	for _, t := range req.Targets {
		if _, _, err := net.SplitHostPort(t); err != nil {
			httpjson.Error(w, http.StatusBadRequest, fmt.Sprintf("targets: %q is not host:port (WS-Discovery listens on UDP 3702)", t))
			return
		}
	}
	if !discoverBusy.TryLock() {
		w.Header().Set("Retry-After", "5")
		httpjson.Error(w, http.StatusTooManyRequests, "a discovery is running on this node; ask again when it has ended")
		return
	}
	defer discoverBusy.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), timeout+time.Minute)
	defer cancel()
	found, err := onvif.Discover(ctx, onvif.DiscoverOptions{Timeout: timeout, Multicast: !req.NoMulticast, Targets: req.Targets})
	if err != nil {
		httpjson.Error(w, http.StatusBadGateway, err.Error())
		return
	}
	res := DiscoverResult{Devices: found.Devices, Ignored: found.Ignored}
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
	a.log.Info("ONVIF discovery", "user", a.userName(r), "devices", len(res.Devices), "described", len(res.Described))
	httpjson.Write(w, http.StatusOK, res)
}

// DescribeRequest names one device service and its login.
type DescribeRequest struct {
	Device   string `json:"device"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
}

// describeONVIF is POST /api/v1/onvif/describe (engineer): who a device
// is, its profiles and their stream URIs.
func (a *Agent) describeONVIF(w http.ResponseWriter, r *http.Request) {
	var req DescribeRequest
	if !decodeSmall(w, r, &req) {
		return
	}
	if req.Device == "" {
		httpjson.Error(w, http.StatusBadRequest, "device: the device service URL is required (http://HOST/onvif/device_service)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	desc, err := (&onvif.Client{Device: req.Device, User: req.User, Password: req.Password}).Describe(ctx)
	var in *onvif.InputError
	switch {
	case errors.As(err, &in):
		httpjson.Error(w, http.StatusBadRequest, err.Error())
	case err != nil:
		httpjson.Error(w, http.StatusBadGateway, err.Error())
	default:
		httpjson.Write(w, http.StatusOK, desc)
	}
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
