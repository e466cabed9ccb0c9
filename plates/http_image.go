package plates

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"time"
)

// Image answers GET /api/v1/plates/{origin}/{seq}/{image} with the
// read's overview.jpg or crop.jpg, pulled from the site if need be.
func (h Handlers) Image(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("origin") + "/" + r.PathValue("seq")
	img := r.PathValue("image")
	if img != "overview.jpg" && img != "crop.jpg" {
		writeError(w, http.StatusNotFound, "image: overview.jpg or crop.jpg")
		return
	}
	if h.Index == nil || h.Snapshot == nil {
		writeError(w, http.StatusNotFound, "this node keeps no plate snapshots")
		return
	}
	entry, ok := h.lookupRead(w, id)
	if !ok {
		return
	}
	evs, err := h.Events.Get(entry.Pos)
	if err != nil || len(evs) == 0 {
		writeError(w, http.StatusNotFound, "plate read "+id+" is no longer in the log")
		return
	}
	var pr PlateRead
	_ = json.Unmarshal(evs[0].Payload, &pr)
	rel := pr.Overview
	if img == "crop.jpg" {
		rel = pr.Crop
	}
	if rel == "" {
		writeError(w, http.StatusNotFound, "plate read "+id+" has no "+img)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	path, err := h.Snapshot(ctx, entry.Origin, rel)
	if err != nil {
		writeError(w, http.StatusBadGateway, "snapshot unavailable: "+err.Error())
		return
	}
	f, err := os.Open(path)
	if err != nil {
		writeError(w, http.StatusNotFound, "snapshot missing: "+err.Error())
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	http.ServeContent(w, r, img, st.ModTime(), f)
}
