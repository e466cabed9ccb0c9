package api

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the OpenAPI description ships inside the binary
	"encoding/hex"
	"net/http"
	"time"
)

// OpenAPI is the OpenAPI 3.0 description of the node's HTTP API, the
// contract external systems integrate against. Tests in agent check it
// against the routes a real node registers and the answers it gives.
//
//go:embed openapi.yaml
var OpenAPI []byte

// OpenAPIHandler serves OpenAPI for GET /api/v1/openapi.yaml, with an
// ETag so that clients can cache it.
func OpenAPIHandler() http.Handler {
	spec := bytes.Clone(OpenAPI) // what is served cannot change under a client
	sum := sha256.Sum256(spec)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: the API description is read-only")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/yaml; charset=utf-8")
		h.Set("ETag", etag)
		h.Set("Cache-Control", "no-cache")
		// ServeContent answers If-None-Match, ranges and HEAD
		http.ServeContent(w, r, "openapi.yaml", time.Time{}, bytes.NewReader(spec))
	})
}
