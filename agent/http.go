package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/archive/playback"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/netaddr"
	"github.com/kuzet/kuzet/web"
)

// handlers are the other components' handlers, as the route table
// (api/routes.go) mounts them with the least role that may use each.
//
// The archive's one access policy (docs/security.md): viewers watch —
// listings, HLS VOD playlists (audited as archive.play) and the media
// links each playlist signs for its caller and range; operators export —
// whole files (with Range), media and cuts at any shift, and MP4 exports,
// each audited when the response ends with the range asked for and the
// bytes actually sent.
func (a *Agent) httpHandlers() (api.Handlers, error) {
	var auditFailing atomic.Bool // the last download could not be recorded
	pb, err := playback.New(playback.Options{
		Archive: a.archive, Prefix: "/api/v1/archive", Caller: a.userName,
		OnDownload: func(r *http.Request, d playback.Download) {
			auditFailing.Store(!a.auditDownload(r, d))
		},
		Transcode: a.transcodeSettings(),
		Logger:    a.log.With("component", "playback"), Registerer: a.reg,
	})
	if err != nil {
		return api.Handlers{}, err
	}
	archive := a.pullRemoteRange(pb)
	rangeOf := func(r *http.Request) string {
		q := r.URL.Query()
		return q.Get("camera") + " " + q.Get("from") + ".." + q.Get("to")
	}
	// downloads wait for the audit log to work again once it failed: the
	// attempt that finds it working is refused too, and recorded
	export := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auditFailing.Load() {
			e := a.entry(r, audit.ActionDownloadArchive, r.URL.Path, "refused: the audit log failed to record the last archive download")
			if _, err := a.audit.Record(e); err == nil {
				auditFailing.Store(false)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "not done: the audit log could not record the last archive download; retry"})
			return
		}
		archive.ServeHTTP(w, r)
	})
	a.exportMP4 = export
	a.sweepExports(true) // packages of an earlier run: their jobs are gone
	a.life.loop("export packages", func(ctx context.Context) {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.sweepExports(false)
			}
		}
	})
	h := api.Handlers{
		Archive:      archive,
		ArchivePlay:  a.audit.Wrap(audit.ActionPlayArchive, rangeOf, a.who, archive),
		Export:       export,
		Exports:      a.exportsHandler(),
		Live:         a.liveHandler(),
		WebRTC:       http.HandlerFunc(a.webrtcOffer),
		WebRTCEnd:    http.HandlerFunc(a.webrtcEnd),
		Tree:         http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, a.Tree()) }),
		SitesHealth:  http.HandlerFunc(a.sitesHealth),
		UI:           web.Handler(),
		PTZ:          http.HandlerFunc(a.servePTZ),
		Record:       http.HandlerFunc(a.recordNow),
		ONVIF:        http.HandlerFunc(a.serveONVIF),
		Clock:        http.HandlerFunc(a.clockStatus),
		Retention:    http.HandlerFunc(a.eventRetention),
		ArchiveStore: http.HandlerFunc(a.archiveStore),
		Plugins:      http.HandlerFunc(a.pluginStatus),
		PluginRestart: a.audit.Wrap(audit.ActionPluginRestart, func(r *http.Request) string { return r.PathValue("name") }, a.who,
			http.HandlerFunc(a.restartPlugin)),
		Sweep: a.audit.Wrap(audit.ActionEventSweep, nil, a.who, http.HandlerFunc(a.sweepEvents)),
	}
	a.catalogueHandlers(&h)
	a.alarmHandlers(&h)
	a.securityHandlers(&h)
	a.visitHandlers(&h)
	a.sealHandlers(&h)
	return h, nil
}

// pullRemoteRange makes a descendant's range playable here: before a
// playlist or an export of a replica camera ("site-a/Camera1"), the
// segments of the range this node lacks are pulled through the links
// (NVMS-6.20), ahead of policy replication, and the file the site is
// still writing when the range reaches into it.
func (a *Agent) pullRemoteRange(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		camera := q.Get("camera")
		wants := strings.HasSuffix(r.URL.Path, "/play.m3u8") || strings.HasSuffix(r.URL.Path, "/export.mp4") ||
			strings.HasSuffix(r.URL.Path, "/transcode.mp4")
		if wants && a.fedSrv != nil && strings.Contains(camera, "/") {
			from, ferr := time.Parse(time.RFC3339Nano, q.Get("from"))
			to, terr := time.Parse(time.RFC3339Nano, q.Get("to"))
			if ferr == nil && terr == nil && to.After(from) {
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
				n, err := a.FetchRange(ctx, camera, from, to)
				cancel()
				if err != nil {
					a.log.Warn("range not pulled from the site; playing what is here", "camera", camera, "err", err)
					origin, _ := a.splitCamera(camera)
					a.failed.add(origin, "archive range", err)
				} else if n > 0 {
					a.log.Info("range pulled from the site", "camera", camera, "segments", n)
				}
				if q.Get("quality") != "main" {
					// an event-recorded camera's sub-stream fills the holes
					// between its events; a camera without one has none to pull
					ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
					if n, err := a.FetchRange(ctx, camera+archive.SubSuffix, from, to); err != nil {
						a.log.Debug("sub-stream range not pulled", "camera", camera, "err", err)
					} else if n > 0 {
						a.log.Info("sub-stream range pulled from the site", "camera", camera, "segments", n)
					}
					cancel()
				}
				// the last minutes: the file the site is writing, so far
				ctx, cancel = context.WithTimeout(r.Context(), 20*time.Second)
				if err := a.pullTail(ctx, camera, to); err != nil {
					a.log.Warn("the file the site is writing not fetched; playing what is here", "camera", camera, "err", err)
					origin, _ := a.splitCamera(camera)
					a.failed.add(origin, "the last minutes", err)
				}
				cancel()
			}
		}
		next.ServeHTTP(w, r)
	})
}

// entry is an audit entry of the caller of r.
func (a *Agent) entry(r *http.Request, action, object, detail string) audit.Entry {
	e := audit.Entry{Action: action, Object: object, Detail: detail, User: "anonymous", Source: r.RemoteAddr}
	if u, role, src, ok := a.who(r); ok {
		e.User, e.Role, e.Source = u, role, src
	}
	return e
}

// auditDownload records an archive download or export once its response
// has ended: who, what, the range asked for, the answer and the bytes
// actually sent. It reports whether the entry was stored.
func (a *Agent) auditDownload(r *http.Request, d playback.Download) bool {
	action := audit.ActionDownloadArchive
	if d.Route == "export" {
		action = audit.ActionExportArchive
	}
	var b strings.Builder
	b.WriteString(r.Method)
	if d.Range != "" {
		fmt.Fprintf(&b, " Range %s", d.Range)
	}
	fmt.Fprintf(&b, ": %d", d.Status)
	if cr := d.Header.Get("Content-Range"); cr != "" {
		fmt.Fprintf(&b, " (%s)", cr)
	}
	if st := d.Header.Get("X-Archive-Start"); st != "" {
		fmt.Fprintf(&b, ", video %s..%s", st, d.Header.Get("X-Archive-End"))
	}
	fmt.Fprintf(&b, ", %d bytes sent", d.Bytes)
	if d.Length >= 0 {
		fmt.Fprintf(&b, " of %d", d.Length)
	}
	fmt.Fprintf(&b, " in %s", d.Duration.Round(time.Millisecond))
	if d.Aborted {
		b.WriteString(", interrupted")
	}
	e := a.entry(r, action, d.Object, b.String())
	if _, err := a.audit.Record(e); err != nil {
		a.log.Error("archive download not recorded in the audit log", "user", e.User, "action", e.Action,
			"object", e.Object, "detail", e.Detail, "source", e.Source, "err", err)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// openHTTP builds the API from the route table and binds its listener;
// Run serves it. Closing it first, before any role it calls into, lets
// the requests in flight finish against open stores.
func (a *Agent) openHTTP() error {
	h, err := a.httpHandlers()
	if err != nil {
		return err
	}
	var allow []netip.Prefix
	for _, p := range a.cfg.HTTP.Allow {
		pr, _ := netaddr.ParsePrefix(p) // validated on load
		allow = append(allow, pr)
	}
	a.handler = api.Handler(api.Deps{
		Handlers: h, Snapshot: a.Snapshot, Guard: a.guard(), User: a.userName, Audit: a.record, Routes: &a.routes,
		NodeID: a.cfg.Node.ID, Version: a.version, Started: a.started, Site: a.site,
		Index: a.archive.Index(), Events: a.events, Gatherer: a.reg, Allow: allow,
		Logger: a.log.With("component", "http"), Federation: a.federationStatus, Plates: a.plates,
		Admin: a.canAdminister, Hosts: a.httpHosts(), CameraPlates: a.cameraPlates,
	})
	a.ln, err = net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", a.cfg.HTTP.Listen, err)
	}
	a.srv = &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// bodies are small JSON; responses may be long downloads and
		// blocking playlist reloads, so writes have no deadline
		ReadTimeout:    30 * time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	a.life.onClose("http", func() error {
		if a.httpErr == nil { // never served
			return a.ln.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = a.srv.Shutdown(ctx)
		if err := <-a.httpErr; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return nil
}

// serveHTTP serves the API on the bound listener, over TLS when
// http.tls is set.
func (a *Agent) serveHTTP() {
	a.httpErr = make(chan error, 1)
	if t := a.cfg.HTTP.TLS; t.Cert != "" {
		a.srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		go func() { a.httpErr <- a.srv.ServeTLS(a.ln, t.Cert, t.Key) }()
		return
	}
	go func() { a.httpErr <- a.srv.Serve(a.ln) }()
}
