package testcam

import (
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// handler receives gortsplib's callbacks; it is separate from Server so that
// the callbacks do not become part of the package's API.
type handler struct {
	s *Server
}

func (h *handler) OnConnOpen(ctx *gortsplib.ServerHandlerOnConnOpenCtx) {
	h.s.log.Debug("RTSP connection opened", "remote", ctx.Conn.NetConn().RemoteAddr().String())
}

func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	h.s.log.Debug("RTSP connection closed", "remote", ctx.Conn.NetConn().RemoteAddr().String(), "error", ctx.Error)
}

// OnSessionClose ends a publication when its publisher goes away, which also
// disconnects its readers (as a camera going offline would).
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for path, p := range s.published {
		if p.session == ctx.Session {
			p.stream.Close()
			delete(s.published, path)
			s.log.Info("publisher left", "path", path, "error", ctx.Error)
		}
	}
}

func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	path := cleanPath(ctx.Path)
	st := h.s.stream(path)
	if st == nil {
		h.s.log.Info("DESCRIBE of unknown path", "path", path, "remote", ctx.Conn.NetConn().RemoteAddr().String())
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

// OnAnnounce accepts a publisher on any path that is not a camera. A new
// publisher replaces the old one, so a restarted test publisher need not wait
// for the previous session to time out.
func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	s := h.s
	path := cleanPath(ctx.Path)
	remote := ctx.Conn.NetConn().RemoteAddr().String()
	if path == "" {
		return &base.Response{StatusCode: base.StatusBadRequest}, nil
	}
	if s.isCamera(path) {
		s.log.Warn("ANNOUNCE to a camera path refused", "path", path, "remote", remote)
		return &base.Response{StatusCode: base.StatusForbidden}, nil
	}

	st := &gortsplib.ServerStream{Server: s.rtsp, Desc: ctx.Description}
	if err := st.Initialize(); err != nil {
		s.log.Warn("ANNOUNCE refused", "path", path, "remote", remote, "error", err)
		return &base.Response{StatusCode: base.StatusBadRequest}, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.published[path]; old != nil {
		old.stream.Close()
		old.session.Close()
		s.log.Info("publisher replaced", "path", path)
	}
	s.published[path] = &publication{session: ctx.Session, stream: st}
	s.log.Info("publisher announced", "path", path, "remote", remote, "medias", len(ctx.Description.Medias))
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	// A publisher's SETUP needs no stream: it sends, it does not read.
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return &base.Response{StatusCode: base.StatusOK}, nil, nil
	}
	path := cleanPath(ctx.Path)
	st := h.s.stream(path)
	if st == nil {
		h.s.log.Info("SETUP of unknown path", "path", path, "remote", ctx.Conn.NetConn().RemoteAddr().String())
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, st, nil
}

func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	h.s.log.Info("reader started", "path", cleanPath(ctx.Path),
		"remote", ctx.Conn.NetConn().RemoteAddr().String(), "transport", transportName(ctx.Session))
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnRecord forwards the publisher's packets unchanged (any codec) to the
// readers of its path.
func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	s := h.s
	path := cleanPath(ctx.Path)
	s.mu.Lock()
	p := s.published[path]
	s.mu.Unlock()
	if p == nil || p.session != ctx.Session {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}

	ss, st := ctx.Session, p.stream
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, _ format.Format, pkt *rtp.Packet) {
		// Keep the publisher's wall-clock mapping when it sent one.
		ntp, ok := ss.PacketNTP(medi, pkt)
		if !ok {
			ntp = time.Now()
		}
		if err := st.WritePacketRTPWithNTP(medi, pkt, ntp); err != nil {
			s.log.Debug("forward packet", "path", path, "error", err)
		}
	})
	s.log.Info("publisher recording", "path", path, "transport", transportName(ctx.Session))
	return &base.Response{StatusCode: base.StatusOK}, nil
}

func transportName(ss *gortsplib.ServerSession) string {
	if t := ss.SetuppedTransport(); t != nil {
		return t.String()
	}
	return ""
}
