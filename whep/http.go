package whep

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"
)

// maxOffer bounds an SDP offer; a browser's is a few KiB.
const maxOffer = 64 << 10

// ServeOffer answers a WHEP POST for camera: 201 with the SDP answer and
// the session's URL (prefix + id) in Location.
func (s *Server) ServeOffer(w http.ResponseWriter, r *http.Request, camera, who, prefix string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/sdp" {
		http.Error(w, "want an SDP offer (Content-Type: application/sdp)", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOffer))
	if err != nil {
		http.Error(w, "SDP offer over 64 KiB or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	info, err := s.Offer(ctx, camera, who, string(body))
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrBadOffer):
			code = http.StatusBadRequest
		case errors.Is(err, ErrCodec):
			code = http.StatusNotAcceptable
		case errors.Is(err, ErrNotStreaming), errors.Is(err, ErrFull), errors.Is(err, ErrUserFull), errors.Is(err, ErrOff):
			w.Header().Set("Retry-After", "2")
			code = http.StatusServiceUnavailable
		}
		http.Error(w, camera+": "+err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", prefix+info.ID)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, info.Answer)
}

// ServeEnd ends session id for who (a WHEP DELETE).
func (s *Server) ServeEnd(w http.ResponseWriter, id, who string) {
	if err := s.End(id, who); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
