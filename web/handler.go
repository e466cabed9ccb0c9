package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// static holds the console. vendor/ is filled by `make web-deps`; a build
// without it still serves the console, which then says video needs it.
//
//go:embed static
var static embed.FS

// Prefix is where assets are served; the node mounts Handler at "/"
// (exactly) and under Prefix.
const Prefix = "/ui/"

// HLSAsset is the vendored player's path under Prefix.
const HLSAsset = "vendor/hls.min.js"

// CSP allows nothing but the node itself. hls.js feeds the <video> from
// blob: URLs (MediaSource) and starts its transmuxing worker from a blob:.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Cache lifetimes: versioned URLs never change; everything else is
// revalidated (cheaply, by ETag) so a new binary is picked up at once.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// contentType is fixed here rather than taken from the host's MIME
// database, which differs between machines (.js as text/plain breaks
// module loading under nosniff).
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".jpg":
		return "image/jpeg"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// compressible types are gzipped once, at start.
func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || ctype == "application/json" || ctype == "image/svg+xml"
}

type asset struct {
	body, gz []byte // gz is nil when gzip does not pay
	ctype    string
	etag     string
}

type handler struct {
	version string
	index   *asset
	assets  map[string]*asset // by path relative to static/
	hls     bool
}

// Handler serves the console: index.html at "/" and the assets under
// Prefix, with a strict Content-Security-Policy. Index links carry a
// content hash (Prefix + VERSION + "/..."), so those URLs are cached for a
// year; unversioned asset URLs work too and are revalidated.
func Handler() http.Handler {
	h, err := newHandler(static)
	if err != nil {
		// only a broken build gets here: the files are embedded
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			setSecurity(w.Header())
			http.Error(w, "operator console unavailable: "+err.Error(), http.StatusInternalServerError)
		})
	}
	return h
}

func newHandler(fsys fs.FS) (*handler, error) {
	sub, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, fmt.Errorf("web assets: %w", err)
	}
	h := &handler{assets: map[string]*asset{}}
	var names []string
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web assets: list: %w", err)
	}
	sort.Strings(names)
	sum := sha256.New()
	var indexSrc []byte
	for _, name := range names {
		b, err := fs.ReadFile(sub, name)
		if err != nil {
			return nil, fmt.Errorf("web assets: read %s: %w", name, err)
		}
		fmt.Fprintf(sum, "%s\x00%d\x00", name, len(b))
		sum.Write(b)
		if name == "index.html" {
			indexSrc = b
			continue
		}
		h.assets[name] = newAsset(name, b)
	}
	if indexSrc == nil {
		return nil, fmt.Errorf("web assets: index.html missing")
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	_, h.hls = h.assets[HLSAsset]
	hls := "missing"
	if h.hls {
		hls = "present"
	}
	idx := bytes.ReplaceAll(indexSrc, []byte("{{base}}"), []byte(Prefix+h.version))
	idx = bytes.ReplaceAll(idx, []byte("{{hls}}"), []byte(hls))
	idx = bytes.ReplaceAll(idx, []byte("{{version}}"), []byte(h.version))
	h.index = newAsset("index.html", idx)
	return h, nil
}

func newAsset(name string, b []byte) *asset {
	ctype := contentType(name)
	s := sha256.Sum256(b)
	a := &asset{body: b, ctype: ctype, etag: `"` + hex.EncodeToString(s[:8]) + `"`}
	if compressible(ctype) && len(b) > 1024 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		if buf.Len() < len(b)*9/10 {
			a.gz = buf.Bytes()
		}
	}
	return a
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurity(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed: the console is read with GET", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" {
		h.serve(w, r, h.index, cacheRevalidate)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
		return
	}
	cache := cacheRevalidate
	if v, tail, ok := strings.Cut(rest, "/"); ok && isVersion(v) {
		// a tab loaded before an upgrade asks with its old version: it
		// gets today's file, revalidated rather than kept for a year
		rest = tail
		if v == h.version {
			cache = cacheImmutable
		}
	}
	name, err := AssetName(rest)
	if err != nil {
		http.Error(w, "not found: "+err.Error(), http.StatusNotFound)
		return
	}
	a, ok := h.assets[name]
	if !ok {
		msg := "not found: " + r.URL.Path
		if name == HLSAsset {
			msg += " (the video player is fetched by `make web-deps` before the build)"
		}
		http.Error(w, msg, http.StatusNotFound)
		return
	}
	h.serve(w, r, a, cache)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, a *asset, cache string) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", cache)
	body, etag := a.body, a.etag
	if a.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			hd.Set("Content-Encoding", "gzip")
			body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		}
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// isVersion matches the 12 hex digits of a version in asset URLs.
func isVersion(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// setSecurity sets the headers every answer carries, errors included.
func setSecurity(hd http.Header) {
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
}

// acceptsGzip reads Accept-Encoding: gzip listed without q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// AssetName checks a request path below Prefix and returns the asset's
// name. It refuses what no asset is called: empty names, directories,
// dot files and dot segments, backslashes, control characters and
// repeated slashes, so a lookup can never be steered elsewhere.
func AssetName(p string) (string, error) {
	switch {
	case p == "":
		return "", fmt.Errorf("empty asset path")
	case len(p) > 256:
		return "", fmt.Errorf("asset path longer than 256 bytes")
	case strings.HasSuffix(p, "/"):
		return "", fmt.Errorf("asset path %q names a directory", p)
	case strings.ContainsRune(p, '\\'):
		return "", fmt.Errorf("asset path %q holds a backslash", p)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("asset path %q holds a control character", p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", fmt.Errorf("asset path %q has an empty or dot segment", p)
		}
	}
	return p, nil
}
