package topology

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// HandlerOptions configures the HTTP API.
type HandlerOptions struct {
	// Status returns a word per node ID (up, down...) for the tree; liveness
	// is not in the catalogue. Nil: no status shown.
	Status func() map[string]string
}

// maxBody bounds a request body; records are small.
const maxBody = 1 << 20

// Handler serves the catalogue API, to be mounted under /api/v1/topology
// with the prefix stripped. Writes on a follower go to the leader.
//
//	GET    /                       tree and revision
//	GET    /status                 Raft state, leader, members
//	GET    /catalogue              every record (no password hashes, no camera passwords)
//	GET    /slices/{node}          what one node needs of the catalogue (camera passwords left out)
//	GET    /nodes[/{id}]  /cameras[/{site}/{id}]  /zones[/{id}]  /users[/{name}]  /policies[/{node}]
//	POST   /nodes /cameras /zones /users /policies   upsert one record (?create=true: 409 if it exists)
//	DELETE /nodes/{id} /cameras/{site}/{id} /zones/{id} /users/{name} /policies/{node}
//	POST   /members {"id","address"}   add a replica;  DELETE /members/{id}
//	POST   /bootstrap {"peers":[...]}  found a new cluster (once)
//	POST   /snapshot                   take a Raft snapshot now
//
// Camera URLs are shown without their passwords, with password_set.
// Reads take ?consistent=true for a linearizable read through the leader.
// Errors are JSON {"error": reason, "code": code} with 400, 404, 409, 503.
func (r *Replica) Handler(o HandlerOptions) http.Handler {
	h := &handler{r: r, o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.tree)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, r.Status()) })
	mux.HandleFunc("GET /catalogue", h.read(func(c *Catalogue, _ *http.Request) (any, error) {
		return c.Contents().Redacted(), nil
	}))
	mux.HandleFunc("GET /slices/{node}", h.read(func(c *Catalogue, q *http.Request) (any, error) {
		s, err := c.SliceFor(q.PathValue("node"))
		if err != nil {
			return nil, err
		}
		return s.Redacted(), nil // the node itself gets its slice over its link
	}))

	mux.HandleFunc("GET /nodes", h.read(func(c *Catalogue, _ *http.Request) (any, error) { return c.Nodes(), nil }))
	mux.HandleFunc("GET /nodes/{id}", h.read(func(c *Catalogue, q *http.Request) (any, error) {
		return found(c.Node(q.PathValue("id")))("node", q.PathValue("id"))
	}))
	mux.HandleFunc("GET /cameras", h.read(func(c *Catalogue, _ *http.Request) (any, error) {
		cams := c.Cameras()
		redactCameras(cams)
		return nonNil(cams), nil
	}))
	mux.HandleFunc("GET /cameras/{site}", h.read(func(c *Catalogue, q *http.Request) (any, error) {
		if _, ok := c.Node(q.PathValue("site")); !ok {
			return nil, notFoundf("node %s does not exist", q.PathValue("site"))
		}
		cams := c.CamerasOf(q.PathValue("site"))
		redactCameras(cams)
		return nonNil(cams), nil
	}))
	mux.HandleFunc("GET /cameras/{site}/{id}", h.read(func(c *Catalogue, q *http.Request) (any, error) {
		cam, ok := c.Camera(q.PathValue("site"), q.PathValue("id"))
		return found(cam.Redacted(), ok)("camera", CameraKey(q.PathValue("site"), q.PathValue("id")))
	}))
	mux.HandleFunc("GET /zones", h.read(func(c *Catalogue, _ *http.Request) (any, error) {
		zs := c.Zones()
		redactZones(zs)
		return nonNil(zs), nil
	}))
	mux.HandleFunc("GET /zones/{id}", h.read(func(c *Catalogue, q *http.Request) (any, error) {
		z, ok := c.Zone(q.PathValue("id"))
		return found(z.Redacted(), ok)("zone", q.PathValue("id"))
	}))
	mux.HandleFunc("GET /users", h.read(func(c *Catalogue, _ *http.Request) (any, error) {
		us := c.Users()
		for i := range us {
			us[i].PasswordHash = ""
		}
		return us, nil
	}))
	mux.HandleFunc("GET /users/{name}", h.read(func(c *Catalogue, q *http.Request) (any, error) {
		u, ok := c.User(q.PathValue("name"))
		u.PasswordHash = ""
		return found(u, ok)("user", q.PathValue("name"))
	}))
	mux.HandleFunc("GET /policies", h.read(func(c *Catalogue, _ *http.Request) (any, error) { return c.Policies(), nil }))
	mux.HandleFunc("GET /policies/{node}", h.read(func(c *Catalogue, q *http.Request) (any, error) {
		return found(c.Policy(q.PathValue("node")))("policy of", q.PathValue("node"))
	}))

	mux.HandleFunc("POST /nodes", h.put(PutNode, func(c *Command) any { c.Node = &Node{}; return c.Node }))
	mux.HandleFunc("POST /cameras", h.put(PutCamera, func(c *Command) any { c.Camera = &Camera{}; return c.Camera }))
	mux.HandleFunc("POST /zones", h.put(PutZone, func(c *Command) any { c.Zone = &Zone{}; return c.Zone }))
	mux.HandleFunc("POST /users", h.put(PutUser, func(c *Command) any { c.User = &User{}; return c.User }))
	mux.HandleFunc("POST /policies", h.put(PutPolicy, func(c *Command) any { c.Policy = &Policy{}; return c.Policy }))
	mux.HandleFunc("DELETE /nodes/{id}", h.del(DeleteNode))
	mux.HandleFunc("DELETE /cameras/{site}/{id}", h.del(DeleteCamera))
	mux.HandleFunc("DELETE /zones/{id}", h.del(DeleteZone))
	mux.HandleFunc("DELETE /users/{id}", h.del(DeleteUser))
	mux.HandleFunc("DELETE /policies/{id}", h.del(DeletePolicy))

	mux.HandleFunc("POST /members", func(w http.ResponseWriter, q *http.Request) {
		var p Peer
		if !decodeBody(w, q, &p) {
			return
		}
		if err := r.Join(q.Context(), p); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, r.Status())
	})
	mux.HandleFunc("DELETE /members/{id}", func(w http.ResponseWriter, q *http.Request) {
		if err := r.Remove(q.Context(), q.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, r.Status())
	})
	mux.HandleFunc("POST /bootstrap", func(w http.ResponseWriter, q *http.Request) {
		var body struct {
			Peers []Peer `json:"peers"`
		}
		if !decodeBody(w, q, &body) {
			return
		}
		if err := r.Bootstrap(body.Peers); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, r.Status())
	})
	mux.HandleFunc("POST /snapshot", func(w http.ResponseWriter, _ *http.Request) {
		if err := r.Snapshot(); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, r.Status())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		if q.URL.Path == "" { // the mount point itself, prefix stripped
			q.URL.Path = "/"
		}
		mux.ServeHTTP(w, q)
	})
}

type handler struct {
	r *Replica
	o HandlerOptions
}

func (h *handler) tree(w http.ResponseWriter, q *http.Request) {
	c, err := h.catalogue(q)
	if err != nil {
		writeError(w, err)
		return
	}
	var status map[string]string
	if h.o.Status != nil {
		status = h.o.Status()
	}
	writeJSON(w, http.StatusOK, BuildTree(c, status))
}

// catalogue is the local catalogue, or a linearizable one on request.
func (h *handler) catalogue(q *http.Request) (*Catalogue, error) {
	v := q.URL.Query().Get("consistent")
	if v == "" {
		return h.r.Catalogue(), nil
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		return nil, invalidf("consistent must be true or false (got %q)", v)
	}
	if !on {
		return h.r.Catalogue(), nil
	}
	return h.r.ConsistentCatalogue(q.Context())
}

func (h *handler) read(f func(*Catalogue, *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, q *http.Request) {
		c, err := h.catalogue(q)
		if err != nil {
			writeError(w, err)
			return
		}
		v, err := f(c, q)
		if err != nil {
			writeError(w, err)
			return
		}
		w.Header().Set("X-Kuzet-Revision", strconv.FormatUint(c.Revision(), 10))
		writeJSON(w, http.StatusOK, v)
	}
}

// WriteResult is the answer to a write.
type WriteResult struct {
	Revision uint64 `json:"revision"`
}

func (h *handler) put(t CommandType, payload func(*Command) any) http.HandlerFunc {
	return func(w http.ResponseWriter, q *http.Request) {
		cmd := Command{Type: t}
		if v := q.URL.Query().Get("create"); v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				writeError(w, invalidf("create must be true or false (got %q)", v))
				return
			}
			cmd.Create = on
		}
		if !decodeBody(w, q, payload(&cmd)) {
			return
		}
		h.apply(w, q.Context(), cmd)
	}
}

func (h *handler) del(t CommandType) http.HandlerFunc {
	return func(w http.ResponseWriter, q *http.Request) {
		cmd := Command{Type: t, ID: q.PathValue("id"), Site: q.PathValue("site")}
		h.apply(w, q.Context(), cmd)
	}
}

func (h *handler) apply(w http.ResponseWriter, ctx context.Context, cmd Command) {
	rev, err := h.r.Apply(ctx, cmd)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, WriteResult{Revision: rev})
}

// found turns a lookup into a result or a 404 naming what was missing.
func found[T any](v T, ok bool) func(what, id string) (any, error) {
	return func(what, id string) (any, error) {
		if !ok {
			return nil, notFoundf("%s %s does not exist", what, id)
		}
		return v, nil
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeBody reads one JSON value, refusing unknown fields so that a typo
// is an error rather than a silently dropped setting.
func decodeBody(w http.ResponseWriter, q *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, q.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, invalidf("request body exceeds %d bytes", maxBody))
		} else {
			writeError(w, invalidf("read request body: %v", err))
		}
		return false
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := strictJSON(b, v); err != nil {
		writeError(w, invalidf("request body: %v", err))
		return false
	}
	return true
}

type errorBody struct {
	Error string `json:"error"`
	Code  Code   `json:"code"`
}

func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Msg: err.Error()}
	}
	writeJSON(w, e.HTTPStatus(), errorBody{Error: err.Error(), Code: e.Code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(fmt.Sprintf(`{"error":%q,"code":"internal"}`, err.Error()))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
