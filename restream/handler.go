package restream

import (
	"context"
	"strings"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
)

// handler receives gortsplib's callbacks, kept out of Server's API.
type handler struct {
	s *Server
}

func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	h.s.log.Debug("RTSP connection opened", "remote", ctx.Conn.NetConn().RemoteAddr().String())
}

func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	h.s.log.Debug("RTSP connection closed", "remote", ctx.Conn.NetConn().RemoteAddr().String(), "error", ctx.Error)
}

func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if cam, ok := s.readers[ctx.Session]; ok {
		delete(s.readers, ctx.Session)
		s.met.readers.WithLabelValues(cam).Dec()
		s.log.Info("RTSP reader left", "camera", cam, "error", ctx.Error)
	}
}

// authorized checks the reader's credentials when the server has some.
func (h *handler) authorized(conn *gortsplib.ServerConn, req *base.Request) bool {
	return h.s.o.User == "" || conn.VerifyCredentials(req, h.s.o.User, h.s.o.Password)
}

// find answers for path: the stream, or the response refusing it.
func (h *handler) find(conn *gortsplib.ServerConn, path string) (*gortsplib.ServerStream, *base.Response) {
	cam := strings.Trim(path, "/")
	st, code := h.s.lookup(cam)
	if code != 0 && h.s.o.OnDemand != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := h.s.o.OnDemand(ctx, cam)
		cancel()
		if err == nil {
			st, code = h.s.waitStream(cam, 10*time.Second)
		} else if code == 404 {
			h.s.log.Info("RTSP read of an unknown path", "path", path, "err", err)
		}
	}
	switch code {
	case 0:
		return st.ss, &base.Response{StatusCode: base.StatusOK}
	case 503:
		h.s.log.Info("RTSP read of a camera that is not streaming", "camera", cam, "remote", conn.NetConn().RemoteAddr().String())
		return nil, &base.Response{StatusCode: base.StatusServiceUnavailable}
	}
	h.s.log.Info("RTSP read of an unknown path", "path", path, "remote", conn.NetConn().RemoteAddr().String())
	return nil, &base.Response{StatusCode: base.StatusNotFound}
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if !h.authorized(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	st, res := h.find(ctx.Conn, ctx.Path)
	return res, st, nil
}

// OnAnnounce refuses publishers: the node only re-serves its cameras.
func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	h.s.log.Warn("RTSP publish refused", "path", ctx.Path, "remote", ctx.Conn.NetConn().RemoteAddr().String())
	return &base.Response{StatusCode: base.StatusForbidden}, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusForbidden}, nil, nil
	}
	if !h.authorized(ctx.Conn, ctx.Request) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	st, res := h.find(ctx.Conn, ctx.Path)
	return res, st, nil
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	s := h.s
	cam := strings.Trim(ctx.Path, "/")
	s.mu.Lock()
	if _, ok := s.readers[ctx.Session]; !ok {
		s.readers[ctx.Session] = cam
		s.met.readers.WithLabelValues(cam).Inc()
	}
	s.mu.Unlock()
	transport := ""
	if t := ctx.Session.SetuppedTransport(); t != nil {
		transport = t.String()
	}
	s.log.Info("RTSP reader started", "camera", cam, "remote", ctx.Conn.NetConn().RemoteAddr().String(), "transport", transport)
	return &base.Response{StatusCode: base.StatusOK}, nil
}
