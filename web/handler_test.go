package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func embedded(t *testing.T) *handler {
	t.Helper()
	h, err := newHandler(static)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func checkSecurity(t *testing.T, w *httptest.ResponseRecorder, what string) {
	t.Helper()
	if got := w.Header().Get("Content-Security-Policy"); got != CSP {
		t.Errorf("%s: Content-Security-Policy = %q, want %q", what, got, CSP)
	}
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options = %q", what, got)
	}
}

func TestCSPIsStrict(t *testing.T) {
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'",
		"media-src 'self' blob:", "worker-src 'self' blob:", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q", want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %q", bad)
		}
	}
}

func TestIndexServedAtRoot(t *testing.T) {
	h := Handler()
	w := get(t, h, "GET", "/")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /: %d %s", w.Code, w.Body)
	}
	checkSecurity(t, w, "GET /")
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control = %q, want no-cache (a new binary must show at once)", cc)
	}
	body := w.Body.String()
	if strings.Contains(body, "{{") {
		t.Errorf("index keeps a template placeholder: %s", body)
	}
	// every asset the index links must be served, from the versioned,
	// immutable URL
	refs := regexp.MustCompile(`(?:href|src)="(/ui/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) < 3 {
		t.Fatalf("index links %d assets, want the icon, stylesheet and script", len(refs))
	}
	for _, m := range refs {
		a := get(t, h, "GET", m[1])
		if a.Code != http.StatusOK {
			t.Errorf("GET %s: %d", m[1], a.Code)
			continue
		}
		checkSecurity(t, a, m[1])
		if cc := a.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control = %q, want immutable for a versioned URL", m[1], cc)
		}
	}
}

func TestContentTypes(t *testing.T) {
	h := embedded(t)
	for p, want := range map[string]string{
		"/ui/js/app.js":        "text/javascript; charset=utf-8",
		"/ui/js/views/live.js": "text/javascript; charset=utf-8",
		"/ui/css/app.css":      "text/css; charset=utf-8",
		"/ui/favicon.svg":      "image/svg+xml",
	} {
		w := get(t, h, "GET", p)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d", p, w.Code)
			continue
		}
		if got := w.Header().Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type = %q, want %q", p, got, want)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control = %q, want no-cache for an unversioned URL", p, cc)
		}
		if w.Header().Get("ETag") == "" {
			t.Errorf("%s: no ETag", p)
		}
	}
	for name, want := range map[string]string{"a.JS": "text/javascript; charset=utf-8", "b.html": "text/html; charset=utf-8",
		"c.json": "application/json", "d.png": "image/png", "e.bin": "application/octet-stream", "noext": "application/octet-stream"} {
		if got := contentType(name); got != want {
			t.Errorf("contentType(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestModulesResolve follows every relative import of every module, so a
// renamed file cannot leave the console with a broken import.
func TestModulesResolve(t *testing.T) {
	h := embedded(t)
	imp := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'`)
	n := 0
	for name, a := range h.assets {
		if !strings.HasSuffix(name, ".js") || strings.HasPrefix(name, "vendor/") {
			continue
		}
		for _, m := range imp.FindAllSubmatch(a.body, -1) {
			target := path.Join(path.Dir(name), string(m[1]))
			if _, ok := h.assets[target]; !ok {
				t.Errorf("%s imports %s: no such asset (%s)", name, m[1], target)
			}
			n++
		}
	}
	if n < 10 {
		t.Errorf("found %d imports; the pattern no longer matches the modules", n)
	}
}

func TestUnknownAssetsAre404(t *testing.T) {
	h := embedded(t)
	for _, p := range []string{
		"/ui/nope.js", "/ui/js/", "/ui/", "/ui", "/ui/js//app.js", "/ui/./js/app.js", "/ui/js/../index.html",
		"/ui/index.html", "/ui/vendor/.gitignore", "/ui/js\\app.js", "/index.html", "/other", "/ui/" + strings.Repeat("a/", 200) + "x.js",
	} {
		w := get(t, h, "GET", p)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %q: %d, want 404", p, w.Code)
		}
		checkSecurity(t, w, p)
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("GET %q: 404 as %q", p, ct)
		}
	}
}

func TestMethods(t *testing.T) {
	h := embedded(t)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		w := get(t, h, m, "/")
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	w := get(t, h, "HEAD", "/ui/js/app.js")
	if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %q", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}
}

func TestVersionedURLs(t *testing.T) {
	h := embedded(t)
	if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(h.version) {
		t.Fatalf("version %q", h.version)
	}
	cur := get(t, h, "GET", Prefix+h.version+"/js/app.js")
	if cur.Code != http.StatusOK || !strings.Contains(cur.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("current version: %d %q", cur.Code, cur.Header().Get("Cache-Control"))
	}
	// a tab opened before an upgrade still finds its files, revalidated
	old := get(t, h, "GET", Prefix+"0123456789ab/js/app.js")
	if old.Code != http.StatusOK || old.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("older version: %d %q", old.Code, old.Header().Get("Cache-Control"))
	}
	if !bytes.Equal(old.Body.Bytes(), cur.Body.Bytes()) {
		t.Error("versioned and unversioned URLs differ")
	}
	// the version is a content hash: other content, other version
	other, err := newHandler(fstest.MapFS{"static/index.html": {Data: []byte("<p>x</p>")}})
	if err != nil {
		t.Fatal(err)
	}
	if other.version == h.version {
		t.Error("different content, same version")
	}
}

func TestGzipAndConditionalRequests(t *testing.T) {
	h := embedded(t)
	plain := get(t, h, "GET", "/ui/js/app.js")
	zipped := get(t, h, "GET", "/ui/js/app.js", "Accept-Encoding", "br;q=1, gzip;q=0.8")
	if zipped.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("gzip not offered: %v", zipped.Header())
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unz, plain.Body.Bytes()) {
		t.Error("gzip body differs from the plain one")
	}
	if zipped.Header().Get("ETag") == plain.Header().Get("ETag") {
		t.Error("gzip and plain share an ETag")
	}
	refused := get(t, h, "GET", "/ui/js/app.js", "Accept-Encoding", "gzip;q=0")
	if refused.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused with q=0")
	}
	again := get(t, h, "GET", "/ui/js/app.js", "If-None-Match", plain.Header().Get("ETag"))
	if again.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", again.Code)
	}
	for _, v := range []struct {
		in   []string
		want bool
	}{{[]string{"gzip"}, true}, {[]string{"deflate, GZIP"}, true}, {[]string{"gzip; q=0"}, false}, {[]string{"identity"}, false}, {nil, false}, {[]string{"gzip;q=0.000"}, false}} {
		if got := acceptsGzip(v.in); got != v.want {
			t.Errorf("acceptsGzip(%q) = %v", v.in, got)
		}
	}
}

func TestHLSPresenceShownToTheConsole(t *testing.T) {
	base := fstest.MapFS{
		"static/index.html": {Data: []byte(`<meta name="kuzet-hls" content="{{hls}}"><script src="{{base}}/js/app.js"></script>`)},
		"static/js/app.js":  {Data: []byte("export {};")},
	}
	without, err := newHandler(base)
	if err != nil {
		t.Fatal(err)
	}
	if w := get(t, without, "GET", "/"); !strings.Contains(w.Body.String(), `content="missing"`) {
		t.Errorf("without hls.js the index says: %s", w.Body)
	}
	w := get(t, without, "GET", Prefix+HLSAsset)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "make web-deps") {
		t.Errorf("missing hls.js: %d %s", w.Code, w.Body)
	}
	with := fstest.MapFS{"static/vendor/hls.min.js": {Data: []byte("window.Hls={}")}}
	for k, v := range base {
		with[k] = v
	}
	h, err := newHandler(with)
	if err != nil {
		t.Fatal(err)
	}
	if w := get(t, h, "GET", "/"); !strings.Contains(w.Body.String(), `content="present"`) {
		t.Errorf("with hls.js the index says: %s", w.Body)
	}
	if w := get(t, h, "GET", Prefix+HLSAsset); w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("hls.js: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	// what the build embeds is what the console says
	_, statErr := fs.Stat(static, "static/"+HLSAsset)
	if got, want := embedded(t).hls, statErr == nil; got != want {
		t.Errorf("embedded hls = %v, file present = %v", got, want)
	}
}

func TestBrokenBuildsAreNamed(t *testing.T) {
	if _, err := newHandler(fstest.MapFS{"static/js/app.js": {Data: []byte("")}}); err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Errorf("no index.html: %v", err)
	}
	if _, err := newHandler(fstest.MapFS{"other/index.html": {Data: []byte("")}}); err == nil {
		t.Error("no static directory: no error")
	}
}

func TestAssetName(t *testing.T) {
	for _, ok := range []string{"js/app.js", "favicon.svg", "vendor/hls.min.js", "a-b_c/d.e.f"} {
		if got, err := AssetName(ok); err != nil || got != ok {
			t.Errorf("AssetName(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", "/", "js/", "/js/app.js", "js//app.js", "../x", "js/../x", "./x", ".gitignore",
		"js/.hidden", "a\\b", "a\x00b", "a\nb", "a\x7fb", strings.Repeat("a", 257)} {
		if _, err := AssetName(bad); err == nil {
			t.Errorf("AssetName(%q) accepted", bad)
		}
	}
}

func FuzzAssetName(f *testing.F) {
	for _, s := range []string{"js/app.js", "../etc/passwd", "a//b", ".x", "a/./b", "a\\b", "é/ü.js", "%2e%2e/x"} {
		f.Add(s)
	}
	h, err := newHandler(static)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, err := AssetName(p)
		if err != nil {
			if name != "" {
				t.Fatalf("error with a name: %q", name)
			}
			return
		}
		if name != p || path.Clean(name) != name || strings.HasPrefix(name, "/") || hasDotSegment(name) {
			t.Fatalf("AssetName(%q) = %q: not a clean relative name", p, name)
		}
		// whatever the path, the handler answers with a status and the CSP
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = Prefix + p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK && w.Code != http.StatusNotFound {
			t.Fatalf("GET %q: %d", r.URL.Path, w.Code)
		}
		if w.Header().Get("Content-Security-Policy") != CSP {
			t.Fatalf("GET %q: no CSP", r.URL.Path)
		}
	})
}

func hasDotSegment(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." {
			return true
		}
	}
	return false
}

// BenchmarkServe measures the handler alone: `go test -run '^$' -bench . ./web`.
func BenchmarkServe(b *testing.B) {
	h, err := newHandler(static)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, path, enc string }{
		{"index", "/", ""}, {"module-gzip", "/ui/js/app.js", "gzip"}, {"module-304", "/ui/js/app.js", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", c.path, nil)
			if c.enc != "" {
				r.Header.Set("Accept-Encoding", c.enc)
			}
			if c.name == "module-304" {
				r.Header.Set("If-None-Match", h.assets["js/app.js"].etag)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkNew is the start-up cost of Handler (hashing, gzip of every
// text asset, hls.js included).
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := newHandler(static); err != nil {
			b.Fatal(err)
		}
	}
}
