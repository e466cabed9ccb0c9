package plugin

import (
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/httpjson"
)

// Protocol is the version of docs/plugins.md the node speaks.
const Protocol = 1

// Hello is what a plugin may do (GET /v1/hello).
type Hello struct {
	Protocol int       `json:"protocol"`
	Name     string    `json:"name"`
	Node     string    `json:"node"`
	Cameras  []string  `json:"cameras"`
	Frames   FrameSpec `json:"frames"`
	Events   []string  `json:"events"`
	Limits   Limits    `json:"limits"`
}

// routes is the protocol on one plugin's socket.
func (r *runner) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/hello", r.hello)
	mux.HandleFunc("GET /v1/frames", r.frames)
	mux.HandleFunc("GET /v1/events", r.events)
	mux.HandleFunc("POST /v1/events", r.post)
	mux.HandleFunc("GET /v1/archive", r.archive)
	mux.HandleFunc("GET /v1/archive/files/{path...}", r.archiveFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		httpjson.Error(w, http.StatusNotFound, req.Method+" "+req.URL.Path+": not in plugin protocol v1 (docs/plugins.md)")
	})
	return mux
}

func (r *runner) hello(w http.ResponseWriter, _ *http.Request) {
	httpjson.Write(w, http.StatusOK, Hello{Protocol: Protocol, Name: r.spec.Name, Node: r.m.o.Node,
		Cameras: append([]string{}, r.spec.Cameras...), Events: append([]string{}, r.spec.Events...), Limits: r.spec.Limits,
		Frames: r.spec.Frames})
}

// events streams the node's events of the granted kinds, one JSON object
// per line, from the time of the request. A plugin that does not read
// loses events (counted in its status), never the log.
func (r *runner) events(w http.ResponseWriter, req *http.Request) {
	var kinds []string
	for _, k := range strings.Split(req.URL.Query().Get("kinds"), ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if !slices.Contains(r.spec.Events, k) {
			httpjson.Error(w, http.StatusForbidden, "kinds: "+k+" is not among the events this plugin may see ("+strings.Join(r.spec.Events, ", ")+")")
			return
		}
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		kinds = r.spec.Events
	}
	if len(kinds) == 0 {
		httpjson.Error(w, http.StatusForbidden, "kinds: this plugin may see no events (plugins[].events)")
		return
	}
	release, ok := r.hold(w, "events", &r.eventStreams, maxEventStreams)
	if !ok {
		return
	}
	defer release()
	ch, stop := r.m.o.Log.Watch(256)
	defer stop()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-req.Context().Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			if !slices.Contains(kinds, e.Kind) {
				continue
			}
			if err := enc.Encode(e); err != nil {
				return
			}
		case <-ping.C:
			// an empty line keeps idle connections honest
			if _, err := w.Write([]byte("\n")); err != nil {
				return
			}
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// archive lists a granted camera's segments in a range.
func (r *runner) archive(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	cam := q.Get("camera")
	if !r.spec.grants(cam) {
		httpjson.Error(w, http.StatusForbidden, "camera: "+cam+" is not granted to this plugin")
		return
	}
	if r.m.o.Segments == nil {
		httpjson.Error(w, http.StatusNotFound, "this node keeps no archive")
		return
	}
	from, err1 := time.Parse(time.RFC3339Nano, q.Get("from"))
	to, err2 := time.Parse(time.RFC3339Nano, q.Get("to"))
	if err1 != nil || err2 != nil || !to.After(from) {
		httpjson.Error(w, http.StatusBadRequest, "from, to: RFC 3339 times, from before to")
		return
	}
	segs, err := r.m.o.Segments(cam, from, to)
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	type seg struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
		Path  string    `json:"path"`
		Bytes int64     `json:"bytes"`
	}
	out := []seg{}
	for _, s := range segs {
		out = append(out, seg{s.Start, s.End, s.Path, s.Bytes})
	}
	httpjson.Write(w, http.StatusOK, out)
}

// archiveFile serves one segment of a granted camera, with Range.
func (r *runner) archiveFile(w http.ResponseWriter, req *http.Request) {
	rel := req.PathValue("path")
	if err := event.CheckRel(rel); err != nil || r.m.o.OpenFile == nil {
		httpjson.Error(w, http.StatusNotFound, "path: no such archive file")
		return
	}
	cam, _, _ := strings.Cut(rel, "/")
	if !r.spec.grants(cam) {
		httpjson.Error(w, http.StatusForbidden, "path: camera "+cam+" is not granted to this plugin")
		return
	}
	f, err := r.m.o.OpenFile(rel)
	if err != nil {
		httpjson.Error(w, http.StatusNotFound, "path: no such archive file")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, req, path.Base(rel), st.ModTime(), f)
}
