package api

import (
	"net/http"
	"strings"
)

// isCameraPlates reports whether r is for plates.CameraPlatesPattern,
// matched as the ServeMux matches it.
func isCameraPlates(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	seg := strings.Split(r.URL.EscapedPath(), "/")
	return len(seg) == 6 && seg[0] == "" && seg[1] == "api" && seg[2] == "v1" && seg[3] == "cameras" &&
		seg[4] != "" && seg[4] != "." && seg[4] != ".." && seg[5] == "plates"
}

// withCameraPlates lets cameras' plate events past the allow-list and the
// 1 MiB body bound: cameras sit on their own network, and their events
// carry pictures. The handler admits only addresses of the allow-list or of
// a camera that posts events, and bounds bodies to camevents.MaxBody.
func withCameraPlates(d Deps, mux, guarded http.Handler) http.Handler {
	ingest := checkHost(d.Hosts, d.Logger, mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isCameraPlates(r) {
			ingest.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}
