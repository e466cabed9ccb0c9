package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/evidence"
)

// Export packages (docs/playback.md, "Export packages"): an operator asks
// for several cameras over one range with a reason; the node exports each
// camera's MP4 in the background (pulling a descendant's range first, as
// any export does), then packs them with a manifest signed by its key.
// Jobs live in DATA_DIR/exports/<id>/ for exportKeep and are listed by
// who made them.

const (
	exportMaxCameras = 16
	exportRunning    = 2 // packages made at once on one node
	exportKeep       = 24 * time.Hour
	exportMaxReason  = 500
	exportMaxCase    = 100
)

// exportJob is one package, as its status answers.
type exportJob struct {
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Reason  string    `json:"reason"`
	Case    string    `json:"case,omitempty"`
	Cameras []string  `json:"cameras"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Created time.Time `json:"created"`
	State   string    `json:"state"` // queued | running | done | failed
	Done    int       `json:"cameras_done"`
	Bytes   int64     `json:"bytes"` // of video written so far
	Size    int64     `json:"size,omitempty"`
	Error   string    `json:"error,omitempty"`
	Missing []string  `json:"missing,omitempty"` // cameras with nothing in the range, and why
	URL     string    `json:"url,omitempty"`     // the package, once done

	dir string
}

// exportJobs is the node's registry of packages.
type exportJobs struct {
	mu    sync.Mutex
	jobs  map[string]*exportJob
	slots chan struct{}
}

func (x *exportJobs) init() {
	if x.jobs == nil {
		x.jobs = map[string]*exportJob{}
		x.slots = make(chan struct{}, exportRunning)
	}
}

// exportRequest is the body of POST /api/v1/exports.
type exportRequest struct {
	Cameras []string `json:"cameras"`
	From    string   `json:"from"`
	To      string   `json:"to"`
	Reason  string   `json:"reason"`
	Case    string   `json:"case"`
}

func exportError(w http.ResponseWriter, code int, param, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "param": param})
}

// exportsDir is where packages are made and kept.
func (a *Agent) exportsDir() string { return filepath.Join(a.cfg.Node.DataDir, "exports") }

// exportsHandler serves /api/v1/exports: POST starts a package, GET lists
// the caller's, GET {id} is its progress, GET {id}/package.zip the package.
func (a *Agent) exportsHandler() http.Handler {
	a.exports.mu.Lock()
	a.exports.init()
	a.exports.mu.Unlock()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/exports", a.startExport)
	mux.HandleFunc("GET /api/v1/exports", func(w http.ResponseWriter, r *http.Request) {
		user := a.userName(r)
		a.exports.mu.Lock()
		list := []exportJob{}
		for _, j := range a.exports.jobs {
			if j.User == user {
				list = append(list, *j)
			}
		}
		a.exports.mu.Unlock()
		sort.Slice(list, func(i, k int) bool { return list[i].Created.After(list[k].Created) })
		writeJSON(w, list)
	})
	mux.HandleFunc("GET /api/v1/exports/{id}", func(w http.ResponseWriter, r *http.Request) {
		j, ok := a.exportOf(w, r)
		if ok {
			writeJSON(w, j)
		}
	})
	mux.HandleFunc("GET /api/v1/exports/{id}/package.zip", a.downloadExport)
	return mux
}

// exportOf is the caller's job named in the path: another user's package
// is not theirs to see (404, as if it did not exist).
func (a *Agent) exportOf(w http.ResponseWriter, r *http.Request) (exportJob, bool) {
	id := r.PathValue("id")
	a.exports.mu.Lock()
	j, ok := a.exports.jobs[id]
	var cp exportJob
	if ok {
		cp = *j
	}
	a.exports.mu.Unlock()
	if !ok || cp.User != a.userName(r) {
		exportError(w, http.StatusNotFound, "id", fmt.Sprintf("id: no export %q of yours", id))
		return cp, false
	}
	return cp, true
}

func (a *Agent) startExport(w http.ResponseWriter, r *http.Request) {
	var req exportRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		exportError(w, http.StatusBadRequest, "body", fmt.Sprintf("body: %v", err))
		return
	}
	from, ferr := time.Parse(time.RFC3339Nano, req.From)
	to, terr := time.Parse(time.RFC3339Nano, req.To)
	req.Reason = strings.TrimSpace(req.Reason)
	req.Case = strings.TrimSpace(req.Case)
	switch {
	case len(req.Cameras) == 0:
		exportError(w, http.StatusBadRequest, "cameras", "cameras: name at least one")
		return
	case len(req.Cameras) > exportMaxCameras:
		exportError(w, http.StatusBadRequest, "cameras", fmt.Sprintf("cameras: at most %d in one package", exportMaxCameras))
		return
	case ferr != nil:
		exportError(w, http.StatusBadRequest, "from", fmt.Sprintf("from: %q is not an RFC 3339 time", req.From))
		return
	case terr != nil:
		exportError(w, http.StatusBadRequest, "to", fmt.Sprintf("to: %q is not an RFC 3339 time", req.To))
		return
	case !to.After(from):
		exportError(w, http.StatusBadRequest, "to", "to: must be after from")
		return
	case to.Sub(from) > 24*time.Hour:
		exportError(w, http.StatusBadRequest, "to", "to: a package covers at most 24 h")
		return
	case req.Reason == "":
		exportError(w, http.StatusBadRequest, "reason", "reason: say why the video leaves the system (it is signed into the package and audited)")
		return
	case utf8.RuneCountInString(req.Reason) > exportMaxReason || !utf8.ValidString(req.Reason):
		exportError(w, http.StatusBadRequest, "reason", fmt.Sprintf("reason: at most %d characters", exportMaxReason))
		return
	case utf8.RuneCountInString(req.Case) > exportMaxCase || !utf8.ValidString(req.Case):
		exportError(w, http.StatusBadRequest, "case", fmt.Sprintf("case: at most %d characters", exportMaxCase))
		return
	}
	seen := map[string]bool{}
	for _, c := range req.Cameras {
		if c == "" || len(c) > 200 || seen[c] {
			exportError(w, http.StatusBadRequest, "cameras", fmt.Sprintf("cameras: %q is empty, too long or named twice", c))
			return
		}
		seen[c] = true
	}
	var rb [8]byte
	_, _ = rand.Read(rb[:])
	id := time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(rb[:])
	j := &exportJob{ID: id, User: a.userName(r), Reason: req.Reason, Case: req.Case, Cameras: req.Cameras,
		From: from.UTC(), To: to.UTC(), Created: time.Now().UTC(), State: "queued",
		dir: filepath.Join(a.exportsDir(), id)}
	if err := os.MkdirAll(filepath.Join(j.dir, "video"), 0o750); err != nil {
		exportError(w, http.StatusInternalServerError, "", fmt.Sprintf("make the export's folder: %v", err))
		return
	}
	detail := fmt.Sprintf("package %s: %d cameras (%s), reason %q", id, len(req.Cameras), strings.Join(req.Cameras, ", "), req.Reason)
	if req.Case != "" {
		detail += fmt.Sprintf(", case %q", req.Case)
	}
	e := a.entry(r, audit.ActionExportArchive, fmt.Sprintf("%s..%s", j.From.Format(time.RFC3339), j.To.Format(time.RFC3339)), detail)
	if _, err := a.audit.Record(e); err != nil {
		_ = os.RemoveAll(j.dir)
		exportError(w, http.StatusServiceUnavailable, "", "not done: the audit log could not record the export; retry")
		return
	}
	a.exports.mu.Lock()
	a.exports.jobs[id] = j
	a.exports.mu.Unlock()
	// the job outlives this request but keeps its caller, for the audit
	// entries of each camera's export; it ends with the node
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	stop := context.AfterFunc(a.runCtx, cancel)
	go func() {
		defer cancel()
		defer stop()
		a.runExport(ctx, j, r.RemoteAddr)
	}()
	w.Header().Set("Location", "/api/v1/exports/"+id)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	cp := *j
	_ = json.NewEncoder(w).Encode(cp)
}

// update changes a job under the registry's lock.
func (a *Agent) updateExport(j *exportJob, f func(*exportJob)) {
	a.exports.mu.Lock()
	defer a.exports.mu.Unlock()
	f(j)
}

// runExport exports each camera, then packs and signs.
func (a *Agent) runExport(ctx context.Context, j *exportJob, remote string) {
	select {
	case a.exports.slots <- struct{}{}:
	case <-a.runCtx.Done():
		return
	}
	defer func() { <-a.exports.slots }()
	a.updateExport(j, func(j *exportJob) { j.State = "running" })
	fail := func(err error) {
		a.log.Error("export package failed", "id", j.ID, "err", err)
		a.updateExport(j, func(j *exportJob) { j.State, j.Error = "failed", err.Error() })
	}
	var members []evidence.Member
	var missing []evidence.File
	for i, cam := range j.Cameras {
		name := fmt.Sprintf("video/%02d_%s.mp4", i+1, strings.NewReplacer("/", "_", "\\", "_").Replace(cam))
		f, why, err := a.exportCamera(ctx, j, cam, filepath.Join(j.dir, filepath.FromSlash(name)), remote)
		if err != nil {
			fail(fmt.Errorf("camera %s: %w", cam, err))
			return
		}
		if why != "" {
			missing = append(missing, evidence.File{Camera: cam, Missing: why})
			a.updateExport(j, func(j *exportJob) { j.Missing = append(j.Missing, cam+": "+why) })
		} else {
			f.Name = name
			members = append(members, evidence.Member{File: f, Path: filepath.Join(j.dir, filepath.FromSlash(name))})
		}
		a.updateExport(j, func(j *exportJob) { j.Done = i + 1 })
	}
	if len(members) == 0 {
		fail(errors.New("none of the cameras recorded anything in the range"))
		return
	}
	signer, err := a.exportSigner()
	if err != nil {
		fail(err)
		return
	}
	u, role, _, _ := a.whoCtx(ctx)
	m := evidence.Manifest{Node: a.cfg.Node.ID, Created: time.Now().UTC(), User: u, Role: role,
		Reason: j.Reason, Case: j.Case, From: j.From, To: j.To, Files: missing}
	pkg := filepath.Join(j.dir, "package.zip")
	out, err := os.OpenFile(pkg+".part", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		fail(err)
		return
	}
	werr := evidence.Write(out, m, members, signer)
	if err := errors.Join(werr, out.Sync(), out.Close()); err != nil {
		fail(fmt.Errorf("pack: %w", err))
		return
	}
	if err := os.Rename(pkg+".part", pkg); err != nil {
		fail(err)
		return
	}
	for _, mb := range members {
		_ = os.Remove(mb.Path) // the package holds them now
	}
	st, _ := os.Stat(pkg)
	a.updateExport(j, func(j *exportJob) {
		j.State, j.Size, j.URL = "done", st.Size(), "/api/v1/exports/"+j.ID+"/package.zip"
	})
	a.log.Info("export package made", "id", j.ID, "cameras", len(members), "bytes", st.Size())
}

// exportCamera writes one camera's range to path through the node's own
// export route (so a descendant's range is pulled first and the export
// is audited as any other). why says why nothing was written: nothing
// recorded, or a codec change inside the range.
func (a *Agent) exportCamera(ctx context.Context, j *exportJob, camera, path, remote string) (evidence.File, string, error) {
	q := url.Values{"camera": {camera}, "from": {j.From.Format(time.RFC3339Nano)}, "to": {j.To.Format(time.RFC3339Nano)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/archive/export.mp4?"+q.Encode(), nil)
	if err != nil {
		return evidence.File{}, "", err
	}
	req.RemoteAddr = remote
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return evidence.File{}, "", err
	}
	fw := &fileResponse{f: f, header: http.Header{}, onWrite: func(n int) {
		a.updateExport(j, func(j *exportJob) { j.Bytes += int64(n) })
	}}
	a.exportMP4.ServeHTTP(fw, req)
	cerr := f.Close()
	switch {
	case fw.err != nil:
		return evidence.File{}, "", fw.err
	case cerr != nil:
		return evidence.File{}, "", cerr
	case fw.code == http.StatusNotFound || fw.code == http.StatusConflict:
		var e struct{ Error string }
		_ = json.Unmarshal(fw.body, &e)
		_ = os.Remove(path)
		a.updateExport(j, func(j *exportJob) { j.Bytes -= int64(fw.n) })
		return evidence.File{}, e.Error, nil
	case fw.code != http.StatusOK:
		return evidence.File{}, "", fmt.Errorf("HTTP %d: %s", fw.code, strings.TrimSpace(string(fw.body)))
	}
	file := evidence.File{Camera: camera}
	file.Start, _ = time.Parse(time.RFC3339Nano, fw.header.Get("X-Archive-Start"))
	file.End, _ = time.Parse(time.RFC3339Nano, fw.header.Get("X-Archive-End"))
	file.Holes, _ = strconv.Atoi(fw.header.Get("X-Archive-Holes"))
	file.Quality = fw.header.Get("X-Archive-Quality")
	return file, "", nil
}

// fileResponse is an http.ResponseWriter into a file: the body goes to
// the file on 200, otherwise into body (an error answer).
type fileResponse struct {
	f       *os.File
	header  http.Header
	code    int
	body    []byte
	n       int
	err     error
	onWrite func(int)
}

func (r *fileResponse) Header() http.Header { return r.header }

func (r *fileResponse) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *fileResponse) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.code != http.StatusOK {
		if len(r.body) < 64<<10 {
			r.body = append(r.body, p...)
		}
		return len(p), nil
	}
	n, err := r.f.Write(p)
	r.n += n
	if err != nil && r.err == nil {
		r.err = err
	}
	r.onWrite(n)
	return n, err
}

// whoCtx is the user a job runs for, from the request context it kept.
func (a *Agent) whoCtx(ctx context.Context) (user, role, source string, ok bool) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return "", "", "", false
	}
	return a.who(r)
}

// exportSigner is the node's federation key and certificate, or without
// a federation identity its own export key (DATA_DIR/export-key.pem).
func (a *Agent) exportSigner() (evidence.Signer, error) {
	if a.ident != nil {
		if key, der, ok := a.ident.Signer(); ok {
			return evidence.CertificateSigner(key, der), nil
		}
	}
	key, err := evidence.LoadOrCreateKey(filepath.Join(a.cfg.Node.DataDir, "export-key.pem"))
	if err != nil {
		return evidence.Signer{}, err
	}
	return evidence.KeySigner(key)
}

// downloadExport serves a finished package, audited with the bytes sent.
func (a *Agent) downloadExport(w http.ResponseWriter, r *http.Request) {
	j, ok := a.exportOf(w, r)
	if !ok {
		return
	}
	if j.State != "done" {
		exportError(w, http.StatusConflict, "id", fmt.Sprintf("id: export %s is %s, not done", j.ID, j.State))
		return
	}
	f, err := os.Open(filepath.Join(j.dir, "package.zip"))
	if err != nil {
		exportError(w, http.StatusGone, "id", fmt.Sprintf("id: the package of %s is gone: %v", j.ID, err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		exportError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	name := "kuzet-export-" + j.ID + ".zip"
	if j.Case != "" {
		name = "kuzet-export-" + safeName(j.Case) + "-" + j.ID + ".zip"
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, name, st.ModTime(), f)
	a.record(r, audit.ActionDownloadArchive, "package "+j.ID,
		fmt.Sprintf("%s %s: %d, %d bytes sent of %d", r.Method, r.Header.Get("Range"), cw.status(), cw.n, st.Size()))
}

// safeName keeps letters, digits, '-' and '_' of s for a file name.
func safeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteRune('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

type countingWriter struct {
	http.ResponseWriter
	n    int64
	code int
}

func (c *countingWriter) WriteHeader(code int) {
	c.code = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) status() int {
	if c.code == 0 {
		return http.StatusOK
	}
	return c.code
}

// sweepExports removes packages older than exportKeep, and at start the
// folders of jobs a previous run left (their registry died with it).
func (a *Agent) sweepExports(all bool) {
	dir := a.exportsDir()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	now := time.Now()
	a.exports.mu.Lock()
	defer a.exports.mu.Unlock()
	for _, e := range ents {
		j, known := a.exports.jobs[e.Name()]
		old := known && now.Sub(j.Created) > exportKeep && j.State != "running" && j.State != "queued"
		if all && !known || old {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				a.log.Warn("remove an old export package", "id", e.Name(), "err", err)
			}
			delete(a.exports.jobs, e.Name())
		}
	}
}
