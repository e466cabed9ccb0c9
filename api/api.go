// Package api serves the node's HTTP API: status, cameras, the archive
// index, events and /metrics, behind an IP allow-list, and mounts the
// handlers other packages own (the plate routes of plates.Handlers, live
// video, playback, alarms). It may not import anpr (cgo) or agent.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/site"
)

// Deps are what the API reads from.
type Deps struct {
	NodeID   string
	Version  string
	Started  time.Time
	Site     *site.Site
	Index    *archive.Index
	Events   *event.Log
	Gatherer prometheus.Gatherer
	Allow    []netip.Prefix
	Logger   *slog.Logger
	// Federation reports links to the parent and children (nil: none).
	Federation func() any
	// Plates is the plate index (nil: searches walk the event log).
	Plates *plates.Index
	// User names the authenticated caller of a request ("" when unknown);
	// Audit records an operator's action.
	User  func(*http.Request) string
	Audit func(r *http.Request, action, object, detail string)
	// Snapshot resolves a plate snapshot of a node to a local file,
	// fetching it from the child leading there if need be.
	Snapshot func(ctx context.Context, origin, rel string) (string, error)
	// Handlers are the other components' handlers the route table mounts.
	Handlers Handlers
	// Guard requires a login with at least a role (nil: no users are
	// configured and only the allow-list guards the API).
	Guard func(min auth.Role, h http.Handler) http.Handler
	// Routes, if set, receives every route Handler registers: the table
	// less the components this node does not run (the OpenAPI description
	// is checked against it).
	Routes *[]Route
	// Admin reports whether a request's caller may read audit entries: an
	// admin at a workstation address. With Guard set and Admin nil, the
	// event feed shows audit entries to nobody; without Guard, to all.
	Admin func(*http.Request) bool
	// Hosts are the names the Host header may carry (against DNS
	// rebinding); nil: any.
	Hosts *HostNames
	// CameraPlates takes a plate event of a camera's own ANPR (nil: the
	// node takes none). A *camevents.Refusal is answered with its status
	// and audited, a *camevents.Error with 400, ErrCameraPlatesBusy with 503.
	CameraPlates func(ctx context.Context, ev plates.CameraPlateEvent) (plates.CameraPlateAnswer, error)
}

func (d Deps) record(r Route) {
	if d.Routes != nil {
		*d.Routes = append(*d.Routes, r)
	}
}

// Handler builds the router from the route table (routes.go), each route
// behind the guard of its role; then the allow-list, the Host check and
// the body limit in front of everything.
func Handler(d Deps) http.Handler {
	mux := http.NewServeMux()
	ph := plates.Handlers{Index: d.Plates, Events: d.Events, User: d.User, Audit: d.Audit, Snapshot: d.Snapshot,
		CameraPlates: d.CameraPlates, Allow: d.Allow, Logger: d.Logger}
	for _, r := range d.table(ph) {
		if r.Handler == nil {
			continue // the component is off on this node
		}
		d.record(r)
		if r.Role == 0 || d.Guard == nil {
			mux.Handle(r.Pattern, r.Handler)
			continue
		}
		mux.Handle(r.Pattern, d.Guard(r.Role, r.Handler))
	}
	return withCameraPlates(d, mux, allowList(d.Allow, d.Logger, checkHost(d.Hosts, d.Logger, limitBody(mux))))
}

func (d Deps) metrics() http.Handler {
	return promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{})
}

// healthz answers "ok" to anyone the allow-list lets in, naming the node
// in X-Kuzet-Node: the console's login page says which node it logs into.
func (d Deps) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Kuzet-Node", d.NodeID)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok\n"))
}

func (d Deps) node(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id": d.NodeID, "version": d.Version, "started": d.Started.UTC(),
		"uptime_seconds": int(time.Since(d.Started).Seconds()), "login_required": d.Guard != nil,
	})
}

func (d Deps) federation(w http.ResponseWriter, _ *http.Request) {
	if d.Federation == nil {
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	writeJSON(w, http.StatusOK, d.Federation())
}

func (d Deps) cameras(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, d.Site.Status())
}

func (d Deps) segments(w http.ResponseWriter, r *http.Request) {
	from, to, ok := timeRange(w, r)
	if !ok {
		return
	}
	segs, err := d.Index.Segments(r.PathValue("camera"), from, to)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, nonNil(segs))
}

func (d Deps) gaps(w http.ResponseWriter, r *http.Request) {
	from, to, ok := timeRange(w, r)
	if !ok {
		return
	}
	gaps, err := d.Index.Gaps(r.PathValue("camera"), from, to)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, nonNil(gaps))
}

// maxBody bounds request bodies: the API takes small JSON only.
const maxBody = 1 << 20

// limitBody refuses larger bodies with 413 before any handler reads them.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBody {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds %d", r.ContentLength, maxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// timeRange parses ?from=&to= (RFC 3339). Missing from means the last hour.
func timeRange(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	return parseRange(w, r, time.Now().Add(-time.Hour))
}

// timeRangeOpen is timeRange with no default start.
func timeRangeOpen(w http.ResponseWriter, r *http.Request) (time.Time, time.Time, bool) {
	return parseRange(w, r, time.Time{})
}

func parseRange(w http.ResponseWriter, r *http.Request, from time.Time) (time.Time, time.Time, bool) {
	return httpjson.Range(w, r, from)
}

func writeJSON(w http.ResponseWriter, code int, v any) { httpjson.Write(w, code, v) }

func writeError(w http.ResponseWriter, code int, msg string) { httpjson.Error(w, code, msg) }

// allowList refuses clients outside the configured prefixes (CGR-5).
func allowList(allow []netip.Prefix, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		addr, perr := netip.ParseAddr(host)
		if err != nil || perr != nil {
			writeError(w, http.StatusForbidden, "client address not recognised")
			return
		}
		addr = addr.Unmap()
		for _, p := range allow {
			if p.Contains(addr) {
				next.ServeHTTP(w, r)
				return
			}
		}
		if log != nil {
			log.Warn("HTTP client refused by allow-list", "remote", r.RemoteAddr, "path", r.URL.Path)
		}
		writeError(w, http.StatusForbidden, "client address "+addr.String()+" is not allowed")
	})
}
