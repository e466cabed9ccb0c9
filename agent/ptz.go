package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/federation"
	"github.com/kuzet/kuzet/internal/httpjson"
	"github.com/kuzet/kuzet/onvif"
)

// PTZ (NVMS-6.20): an operator turns a camera of this node, or of a node
// below through the links' control path. The camera's node drives it over
// ONVIF, checks the operator's role and keeps the lock: an operator's
// command makes the camera theirs for ptz.lock; meanwhile another
// operator of the same or a lower role is refused, a higher role takes it
// over. The node the operator asked at audits the command.

// PTZRequest is a command to a camera's head.
type PTZRequest struct {
	Action string  `json:"action"` // status | move | stop | absolute | relative | goto | set_preset
	Pan    float64 `json:"pan,omitempty"`
	Tilt   float64 `json:"tilt,omitempty"`
	Zoom   float64 `json:"zoom,omitempty"`
	Preset string  `json:"preset,omitempty"` // goto: its token
	Name   string  `json:"name,omitempty"`   // set_preset: its name
}

// PTZState is a camera head as the console shows it.
type PTZState struct {
	Camera   string          `json:"camera"`
	Position *onvif.Position `json:"position,omitempty"`
	Presets  []onvif.Preset  `json:"presets"`
	Preset   string          `json:"preset,omitempty"` // set_preset: the new one's token
	Lock     *PTZLock        `json:"lock,omitempty"`
}

// PTZLock is who holds a camera, and until when.
type PTZLock struct {
	User  string    `json:"user"`
	Role  string    `json:"role"`
	Until time.Time `json:"until"`
}

var ptzActions = map[string]bool{"status": true, "move": true, "stop": true, "absolute": true, "relative": true, "goto": true, "set_preset": true}

// ptzHeads are the node's PTZ handles (made on first use) and locks.
type ptzHeads struct {
	mu    sync.Mutex
	heads map[string]*onvif.PTZ
	locks map[string]PTZLock
}

// ptzError is an answer other than 200.
type ptzError struct {
	status int
	msg    string
}

func (e *ptzError) Error() string { return e.msg }

func ptzErr(status int, format string, args ...any) error {
	return &ptzError{status: status, msg: fmt.Sprintf(format, args...)}
}

// servePTZ is GET (status) and POST (a command) on /api/v1/ptz/{camera...}.
func (a *Agent) servePTZ(w http.ResponseWriter, r *http.Request) {
	camera := r.PathValue("camera")
	req := PTZRequest{Action: "status"}
	if r.Method == http.MethodPost {
		dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			httpjson.Error(w, http.StatusBadRequest, "body: "+err.Error())
			return
		}
		if req.Action == "status" {
			httpjson.Error(w, http.StatusBadRequest, "action: status is asked with GET")
			return
		}
	}
	user, role, _, ok := a.who(r)
	if !ok {
		user, role = "local", auth.RoleOperator.String()
	}
	if r.Method == http.MethodPost {
		if _, err := a.audit.Record(audit.Entry{User: user, Role: role, Action: audit.ActionPTZ, Object: camera,
			Detail: ptzDetail(req), Source: r.RemoteAddr}); err != nil {
			httpjson.Error(w, http.StatusServiceUnavailable, "not done: the audit log is unavailable: "+err.Error())
			return
		}
	}
	user += "@" + a.cfg.Node.ID // as the camera's node and its lock name them
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	origin, cam := a.splitCamera(camera)
	var st PTZState
	var err error
	if origin != a.cfg.Node.ID {
		var ans federation.ControlAnswer
		ans, err = a.ptzRemote(ctx, origin, cam, user, role, req)
		if err == nil {
			writeAnswer(w, ans, "camera "+camera)
			return
		}
	} else {
		st, err = a.ptz(ctx, cam, user, role, req)
	}
	var pe *ptzError
	switch {
	case errors.As(err, &pe):
		httpjson.Error(w, pe.status, pe.msg)
	case err != nil:
		httpjson.Error(w, http.StatusBadGateway, err.Error())
	default:
		if origin != a.cfg.Node.ID {
			st.Camera = camera
		}
		httpjson.Write(w, http.StatusOK, st)
	}
}

func ptzDetail(r PTZRequest) string {
	switch r.Action {
	case "move", "absolute", "relative":
		return fmt.Sprintf("%s pan %g tilt %g zoom %g", r.Action, r.Pan, r.Tilt, r.Zoom)
	case "goto":
		return "goto " + r.Preset
	case "set_preset":
		return "set_preset " + r.Name
	}
	return r.Action
}

// ptzRemote sends a command down to the camera's node.
func (a *Agent) ptzRemote(ctx context.Context, origin, camera, user, role string, req PTZRequest) (federation.ControlAnswer, error) {
	if a.fedSrv == nil {
		return federation.ControlAnswer{}, ptzErr(http.StatusNotFound, "camera %s/%s: this node has no nodes below", origin, camera)
	}
	body, _ := json.Marshal(req)
	ans, err := a.fedSrv.SendControl(ctx, federation.ControlReq{Origin: origin, Camera: camera, User: user, Role: role, Body: body})
	if errors.Is(err, federation.ErrNoRoute) {
		return ans, ptzErr(http.StatusServiceUnavailable, "camera %s/%s: no link leads to %s now", origin, camera, origin)
	}
	return ans, err
}

// applyControl takes a camera command from an ancestor: here when the
// camera is this node's, else passed on towards its node.
func (a *Agent) applyControl(ctx context.Context, req federation.ControlReq) (federation.ControlAnswer, error) {
	if req.Origin != a.cfg.Node.ID {
		if a.fedSrv == nil {
			return federation.ControlAnswer{}, fmt.Errorf("node %s is not below %s", req.Origin, a.cfg.Node.ID)
		}
		return a.fedSrv.SendControl(ctx, req)
	}
	if req.Op != federation.OpPTZ {
		return a.applyONVIF(ctx, req), nil
	}
	var pr PTZRequest
	dec := json.NewDecoder(strings.NewReader(string(req.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pr); err != nil {
		return answerOf(http.StatusBadRequest, map[string]string{"error": "body: " + err.Error()}), nil
	}
	st, err := a.ptz(ctx, req.Camera, req.User, req.Role, pr)
	var pe *ptzError
	switch {
	case errors.As(err, &pe):
		return answerOf(pe.status, map[string]string{"error": pe.msg}), nil
	case err != nil:
		return answerOf(http.StatusBadGateway, map[string]string{"error": err.Error()}), nil
	}
	st.Camera = req.Origin + "/" + req.Camera
	if pr.Action != "status" {
		a.log.Info("camera turned for an ancestor's operator", "camera", req.Camera, "user", req.User, "role", req.Role, "command", ptzDetail(pr))
	}
	return answerOf(http.StatusOK, st), nil
}

func answerOf(status int, v any) federation.ControlAnswer {
	b, _ := json.Marshal(v)
	return federation.ControlAnswer{Status: status, Body: b}
}

// ptz runs a command on one of this node's cameras for user with role.
func (a *Agent) ptz(ctx context.Context, camera, user, roleName string, req PTZRequest) (PTZState, error) {
	if !ptzActions[req.Action] {
		return PTZState{}, ptzErr(http.StatusBadRequest, "action: %q is not status, move, stop, absolute, relative, goto or set_preset", req.Action)
	}
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return PTZState{}, ptzErr(http.StatusForbidden, "role %q: %v", roleName, err)
	}
	if req.Action != "status" && !role.AtLeast(auth.RoleOperator) {
		return PTZState{}, ptzErr(http.StatusForbidden, "%s has role %s: turning a camera needs operator or above", user, roleName)
	}
	c, ok := a.camera(camera)
	if !ok {
		return PTZState{}, ptzErr(http.StatusNotFound, "camera %q is not this node's", camera)
	}
	if c.ONVIF == "" {
		return PTZState{}, ptzErr(http.StatusConflict, "camera %s has no PTZ: its settings name no onvif device service", camera)
	}
	if req.Action != "status" {
		if err := a.ptzTake(camera, user, role); err != nil {
			return PTZState{}, err
		}
	}
	head, err := a.ptzHead(ctx, c.ID, c.ONVIF, c.URL)
	if err != nil {
		return PTZState{}, err
	}
	st := PTZState{Camera: camera, Presets: []onvif.Preset{}}
	switch req.Action {
	case "move":
		err = head.Move(ctx, onvif.Position{Pan: req.Pan, Tilt: req.Tilt, Zoom: req.Zoom})
	case "stop":
		err = head.Stop(ctx)
	case "absolute":
		err = head.Absolute(ctx, onvif.Position{Pan: req.Pan, Tilt: req.Tilt, Zoom: req.Zoom})
	case "relative":
		err = head.Relative(ctx, onvif.Position{Pan: req.Pan, Tilt: req.Tilt, Zoom: req.Zoom})
	case "goto":
		err = head.Goto(ctx, req.Preset)
	case "set_preset":
		st.Preset, err = head.SetPreset(ctx, req.Name)
	}
	if err != nil {
		if isRangeError(err) {
			return PTZState{}, ptzErr(http.StatusBadRequest, "%v", err)
		}
		return PTZState{}, fmt.Errorf("camera %s: %w", camera, err)
	}
	if pos, err := head.Status(ctx); err == nil {
		st.Position = &pos
	}
	if ps, err := head.Presets(ctx); err == nil {
		st.Presets = ps
	}
	a.ptzHeld.mu.Lock()
	if l, ok := a.ptzHeld.locks[camera]; ok && time.Now().Before(l.Until) {
		st.Lock = &l
	}
	a.ptzHeld.mu.Unlock()
	return st, nil
}

// isRangeError tells the operator's bad input from the camera's failure.
func isRangeError(err error) bool {
	var in *onvif.InputError
	var f *onvif.Fault
	return errors.As(err, &in) || errors.As(err, &f) && f.Invalid()
}

// ptzTake makes the camera user's for the lock time, unless another
// operator of the same or a higher role holds it.
func (a *Agent) ptzTake(camera, user string, role auth.Role) error {
	h := &a.ptzHeld
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.locks == nil {
		h.locks = map[string]PTZLock{}
	}
	now := time.Now()
	if l, ok := h.locks[camera]; ok && l.User != user && now.Before(l.Until) {
		held, _ := auth.ParseRole(l.Role)
		if !role.AtLeast(held) || role == held {
			return ptzErr(http.StatusConflict, "camera %s is held by %s (%s) until %s", camera, l.User, l.Role, l.Until.UTC().Format(time.RFC3339))
		}
	}
	h.locks[camera] = PTZLock{User: user, Role: role.String(), Until: now.Add(a.cfg.PTZ.Lock.Std())}
	return nil
}

// ptzHead is the camera's PTZ handle, made on first use: the login of
// its stream URL, the first profile with PTZ (or the first).
func (a *Agent) ptzHead(ctx context.Context, id, device, stream string) (*onvif.PTZ, error) {
	h := &a.ptzHeld
	h.mu.Lock()
	head := h.heads[id+" "+device]
	h.mu.Unlock()
	if head != nil {
		return head, nil
	}
	c := &onvif.Client{Device: device}
	if u, err := url.Parse(stream); err == nil && u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	ps, err := c.Profiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("camera %s: %w", id, err)
	}
	token := ps[0].Token
	for _, p := range ps {
		if p.PTZ {
			token = p.Token
			break
		}
	}
	head, err = c.PTZ(ctx, token)
	if err != nil {
		return nil, ptzErr(http.StatusConflict, "camera %s: %v", id, err)
	}
	h.mu.Lock()
	if h.heads == nil {
		h.heads = map[string]*onvif.PTZ{}
	}
	h.heads[id+" "+device] = head
	h.mu.Unlock()
	return head, nil
}
