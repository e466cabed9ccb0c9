package plates

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/kuzet/kuzet/plates/camevents"
)

// CameraPlatesPattern is where cameras with their own ANPR post their
// plate events. Cameras cannot log in: the handler checks the camera's
// token and address itself (camevents.Check).
const CameraPlatesPattern = "POST /api/v1/cameras/{camera}/plates"

// ActionCameraPlatesRefused is the audit action of a refused camera event.
const ActionCameraPlatesRefused = "camera.plates.refused"

// ErrCameraPlatesBusy answers a camera whose read could not be handed to
// the plate tracking in time: it should send it again.
var ErrCameraPlatesBusy = errors.New("plate tracking of the camera is busy")

// CameraPlateEvent is one plate event as a camera posted it.
type CameraPlateEvent struct {
	Camera      string
	Source      netip.Addr // the client's address
	Allowed     bool       // Source is in the HTTP allow-list
	Token       string     // Authorization: Bearer, the Basic password, or ?token=
	ContentType string
	Body        io.Reader // bounded to camevents.MaxBody; read it after the checks
	Received    time.Time
}

// CameraPlateAnswer is the answer to a camera whose event was taken.
type CameraPlateAnswer struct {
	Camera  string    `json:"camera"`
	Plate   string    `json:"plate,omitempty"`
	Time    time.Time `json:"time,omitzero"`     // the time the read is filed at
	Ignored string    `json:"ignored,omitempty"` // an event without a plate: why it was not taken
}

// cameraToken is the secret a camera sent: as a Bearer token, as the
// password of Basic authentication (Dahua and generic clients), or as the
// query parameter token (Hikvision's HTTP host URL cannot carry headers).
func cameraToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if scheme, rest, ok := strings.Cut(h, " "); ok {
		switch strings.ToLower(scheme) {
		case "bearer":
			if tok := strings.TrimSpace(rest); tok != "" {
				return tok
			}
		case "basic":
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest)); err == nil {
				if _, pw, ok := strings.Cut(string(b), ":"); ok && pw != "" {
					return pw
				}
			}
		}
	}
	return r.URL.Query().Get("token")
}

// Ingest answers POST /api/v1/cameras/{camera}/plates: one plate
// event of the camera's own ANPR. A taken read is not audited (there are
// many); every refusal is, except those of strangers, which are logged as
// the allow-list logs them.
func (h Handlers) Ingest(w http.ResponseWriter, r *http.Request) {
	camera := r.PathValue("camera")
	if h.CameraPlates == nil {
		writeError(w, http.StatusNotFound, "this node takes no plate events from cameras")
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	src, perr := netip.ParseAddr(host)
	if err != nil || perr != nil {
		writeError(w, http.StatusForbidden, "client address not recognised")
		return
	}
	src = src.Unmap().WithZone("")
	allowed := false
	for _, p := range h.Allow {
		allowed = allowed || p.Contains(src)
	}
	if r.ContentLength > camevents.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds %d", r.ContentLength, camevents.MaxBody))
		return
	}
	ev := CameraPlateEvent{Camera: camera, Source: src, Allowed: allowed, Token: cameraToken(r),
		ContentType: r.Header.Get("Content-Type"), Body: http.MaxBytesReader(w, r.Body, camevents.MaxBody), Received: time.Now()}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ans, err := h.CameraPlates(ctx, ev)
	var refused *camevents.Refusal
	var malformed *camevents.Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &refused):
		if refused.Quiet {
			if h.Logger != nil {
				h.Logger.Warn("camera plate event refused by allow-list", "remote", r.RemoteAddr, "path", r.URL.Path)
			}
		} else {
			if h.Logger != nil {
				h.Logger.Warn("camera plate event refused", "camera", camera, "remote", r.RemoteAddr, "status", refused.Status, "reason", refused.Msg)
			}
			if h.Audit != nil {
				// the camera's secret is no user's credential: not looked up as one
				ar := r.Clone(r.Context())
				ar.Header.Del("Authorization")
				h.Audit(ar, ActionCameraPlatesRefused, "camera "+camera, refused.Msg)
			}
		}
		if refused.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="kuzet camera `+camera+`", charset="UTF-8"`)
		}
		writeError(w, refused.Status, refused.Msg)
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", camevents.MaxBody))
	case errors.As(err, &malformed):
		writeError(w, http.StatusBadRequest, malformed.Error())
	case errors.Is(err, ErrCameraPlatesBusy), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "not taken: "+err.Error()+"; send the event again")
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, ans)
	}
}
