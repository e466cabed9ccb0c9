package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/kuzet/kuzet/api"
	"github.com/kuzet/kuzet/archive/playback"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/web"
)

// mounts are the handlers of other components served beside the API,
// each with the least role that may use it.
func (a *Agent) mounts() ([]api.Mount, error) {
	pb, err := playback.New(playback.Options{
		Archive: a.archive, Prefix: "/api/v1/archive",
		Logger: a.log.With("component", "playback"), Registerer: a.reg,
	})
	if err != nil {
		return nil, err
	}
	archive := a.pullRemoteRange(pb)
	rangeOf := func(r *http.Request) string {
		q := r.URL.Query()
		return q.Get("camera") + " " + q.Get("from") + ".." + q.Get("to")
	}
	out := []api.Mount{
		{Pattern: "/api/v1/archive/", Role: auth.RoleViewer, Handler: archive},
		{Pattern: "GET /api/v1/archive/play.m3u8", Role: auth.RoleViewer,
			Handler: a.audit.Wrap(audit.ActionPlayArchive, rangeOf, a.who, archive)},
		{Pattern: "GET /api/v1/archive/export.mp4", Role: auth.RoleOperator,
			Handler: a.audit.Wrap(audit.ActionExportArchive, rangeOf, a.who, archive)},
	}
	out = append(out, api.Mount{Pattern: "/live/", Role: auth.RoleViewer, Handler: a.liveHandler()})
	out = append(out, api.Mount{Pattern: "GET /api/v1/tree", Role: auth.RoleViewer,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, a.Tree()) })})
	ui := web.Handler() // the console loads before login; its API calls need one
	out = append(out, api.Mount{Pattern: "GET /{$}", Handler: ui}, api.Mount{Pattern: "GET " + web.Prefix, Handler: ui})
	out = append(out, api.Mount{Pattern: "GET /api/v1/openapi.yaml", Role: auth.RoleViewer, Handler: api.OpenAPIHandler()})
	out = append(out, a.catalogueMounts()...)
	out = append(out, a.alarmMounts()...)
	return append(out, a.securityMounts()...), nil
}

// pullRemoteRange makes a descendant's range playable here: before a
// playlist or an export of a replica camera ("site-a/Camera1"), the
// segments of the range this node lacks are pulled through the links
// (NVMS-6.20), ahead of policy replication.
func (a *Agent) pullRemoteRange(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		camera := q.Get("camera")
		wants := strings.HasSuffix(r.URL.Path, "/play.m3u8") || strings.HasSuffix(r.URL.Path, "/export.mp4")
		if wants && a.fedSrv != nil && strings.Contains(camera, "/") {
			from, ferr := time.Parse(time.RFC3339Nano, q.Get("from"))
			to, terr := time.Parse(time.RFC3339Nano, q.Get("to"))
			if ferr == nil && terr == nil && to.After(from) {
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
				n, err := a.FetchRange(ctx, camera, from, to)
				cancel()
				if err != nil {
					a.log.Warn("range not pulled from the site; playing what is here", "camera", camera, "err", err)
				} else if n > 0 {
					a.log.Info("range pulled from the site", "camera", camera, "segments", n)
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
