package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/live"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/netaddr"
	"github.com/kuzet/kuzet/restream"
	"github.com/kuzet/kuzet/site"
	"github.com/kuzet/kuzet/whep"
)

// openLive prepares the LL-HLS live view and, if configured, the RTSP
// re-stream; both are consumers of the camera sessions.
func (a *Agent) openLiveView() ([]media.Consumer, error) {
	var ids []string
	for _, c := range a.cfg.Cameras {
		ids = append(ids, c.ID)
	}
	l := a.cfg.Live
	var err error
	a.live, err = live.New(live.Options{Part: l.Part.Std(), Segment: l.Segment.Std(), Segments: l.Segments,
		IdleStop: l.IdleStop.Std(), Cameras: ids, Logger: a.log.With("component", "live"), Registerer: a.reg,
		Transcode: a.transcodeSettings()})
	if err != nil {
		return nil, err
	}
	a.life.loop("live view", a.live.Run)
	out := []media.Consumer{a.live.Consumer()}
	if c := a.openWebRTC(); c != nil {
		out = append(out, *c)
	}
	if r := a.cfg.RTSP; r.Listen != "" {
		o, err := a.rtspAccess()
		if err != nil {
			return nil, err
		}
		o.Listen, o.UDPPort, o.DisableUDP, o.Cameras = r.Listen, r.UDPPort, r.UDPPort == 0, ids
		o.Logger, o.Registerer = a.log.With("component", "rtsp"), a.reg
		o.OnDemand = func(ctx context.Context, camera string) error {
			if !onDemand(camera) {
				return fmt.Errorf("no camera %q on this node", camera)
			}
			return a.ensureRelay(ctx, camera)
		}
		if a.rtsp, err = restream.New(o); err != nil {
			return nil, err
		}
		a.life.onCloseIdle("rtsp re-stream", func() error { a.rtsp.Close(); return nil })
		a.life.loop("rtsp re-stream", a.rtsp.Run)
		out = append(out, a.rtsp.Consumer())
	}
	a.openRelays(out)
	return out, nil
}

// rtspAccess is who may read the RTSP re-stream (docs/security.md): the
// addresses of http.allow; with users configured, readers log in as one
// of them (throttled like the API's logins, each session audited) and the
// shared rtsp.user/password is ignored; without users, that shared
// credential if set. With http.tls the re-stream is RTSPS on the same
// certificate.
func (a *Agent) rtspAccess() (restream.Options, error) {
	var o restream.Options
	r, h := a.cfg.RTSP, a.cfg.HTTP
	for _, p := range h.Allow {
		pr, err := netaddr.ParsePrefix(p)
		if err != nil {
			return o, fmt.Errorf("http.allow: %w", err)
		}
		o.Allow = append(o.Allow, pr)
	}
	if t := h.TLS; t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return o, fmt.Errorf("http.tls (for RTSPS): %w", err)
		}
		o.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if !a.cfg.AuthEnabled() {
		o.User, o.Password = r.User, r.Password
		if r.User == "" {
			a.log.Warn("RTSP re-stream without users or rtsp.user: any address in http.allow may watch every camera")
		}
		return o, nil
	}
	if r.User != "" {
		a.log.Warn("rtsp.user and rtsp.password are ignored: with users configured, RTSP readers log in as one of them")
	}
	if o.TLS == nil {
		a.log.Warn("RTSP readers' passwords cross the network in clear (RTSP Basic): set http.tls to serve RTSPS")
	}
	users, err := authUsers(a.cfg.Users)
	if err != nil {
		return o, err
	}
	store, err := auth.NewMemStore(users...)
	if err != nil {
		return o, err
	}
	lt := h.LoginThrottle
	o.Accounts, err = restream.NewAccounts(restream.AccountsOptions{
		Users: userStore{file: store, a: a}, MinRole: auth.RoleViewer,
		Throttle: auth.ThrottleOptions{UserFree: lt.UserFree, SourceFree: lt.SourceFree,
			Base: lt.Base.Std(), Max: lt.Max.Std(), Forget: lt.Forget.Std()},
	})
	return o, err
}

// auditLiveReaders sends RTSP readers' sessions and refused logins to the
// audit log, once it is open; until then readers with logins are turned
// away (503).
func (a *Agent) auditLiveReaders() {
	if a.rtsp == nil || a.audit == nil {
		return
	}
	rec := a.audit
	a.rtsp.SetAudit(func(e audit.Entry) error {
		_, err := rec.Record(e)
		return err
	})
}

// RTSPAddr is the re-stream's bound address ("" when off).
func (a *Agent) RTSPAddr() string {
	if a.rtsp == nil {
		return ""
	}
	return a.rtsp.Addr()
}

// transcodeSettings is live.transcode, for the live views and the
// archive's transcoded ranges alike.
func (a *Agent) transcodeSettings() media.Transcode {
	tc := a.cfg.Live.Transcode
	return media.Transcode{Max: tc.Max, MaxWidth: tc.MaxWidth, Preset: tc.Preset, CRF: tc.CRF, GOP: tc.GOP.Std()}
}

// onDemand reports whether a live key names a stream pulled only while
// watched: a descendant's camera ("site-a/Camera1") or a sub-stream
// ("Camera1~sub", "site-a/Camera1~sub").
func onDemand(key string) bool {
	return strings.Count(key, "/") == 1 || (!strings.Contains(key, "/") && strings.HasSuffix(key, config.SubStreamSuffix))
}

// ensureRelay starts relaying a descendant's camera ("site-a/Camera1") or
// pulling an own camera's sub-stream into the live view if it is not
// flowing yet, and waits for its first session.
func (a *Agent) ensureRelay(ctx context.Context, key string) error {
	origin, camera := a.splitCamera(key)
	if origin == a.cfg.Node.ID {
		if strings.HasSuffix(camera, config.SubStreamSuffix) {
			return a.ensureSub(ctx, camera)
		}
		return nil
	}
	if a.fedSrv == nil || !a.fedSrv.Leads(origin) {
		err := fmt.Errorf("no link leads to node %q", origin)
		a.failed.add(origin, "live "+camera, err)
		return err
	}
	err := a.relays.Ensure(ctx, key, origin, camera)
	a.failed.add(origin, "live "+camera, err)
	return err
}

// ensureSub starts pulling an own camera's sub-stream ("Camera1~sub").
func (a *Agent) ensureSub(ctx context.Context, key string) error {
	id := strings.TrimSuffix(key, config.SubStreamSuffix)
	if c, ok := a.camera(id); !ok || c.SubPath == "" || c.Disabled {
		return fmt.Errorf("camera %s has no sub-stream (cameras[].sub_path)", id)
	}
	return a.subs.Ensure(ctx, key, a.cfg.Node.ID, key)
}

// startRelay starts an on-demand stream for a player's first request,
// waiting up to 20 s; on failure it answers 502 and reports false.
func (a *Agent) startRelay(w http.ResponseWriter, r *http.Request, key string) bool {
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	if err := a.ensureRelay(ctx, key); err != nil {
		http.Error(w, "live relay: "+err.Error(), http.StatusBadGateway)
		return false
	}
	return true
}

// touchRelay keeps an on-demand stream up for a player's requests.
func (a *Agent) touchRelay(key string) {
	if origin, camera := a.splitCamera(key); origin == a.cfg.Node.ID {
		a.subs.Touch(camera)
		return
	}
	a.relays.Touch(key)
}

// openRelays feeds descendants' cameras, pulled through the child links,
// and own cameras' sub-streams, pulled from the cameras, to the live view
// and the re-stream (and, for sub-streams, to the parent's relays).
func (a *Agent) openRelays(consumers []media.Consumer) {
	subs := slices.Clone(consumers)
	if a.tap != nil {
		subs = append(subs, a.tap.Consumer())
	}
	a.subs = site.NewRelays(a.runCtx, site.RelayOptions{Consumers: subs, Logger: a.log,
		Open: func(ctx context.Context, _, key string) (site.Feed, error) {
			id := strings.TrimSuffix(key, config.SubStreamSuffix)
			c, ok := a.camera(id)
			if !ok || c.SubPath == "" {
				return nil, fmt.Errorf("camera %s has no sub-stream (cameras[].sub_path)", id)
			}
			return site.DialSubStream(ctx, key, c.SubURL(), c.Transport, c.OfflineAfter.Std())
		},
		Watched: func(key string) bool { return a.watched(key) || (a.tap != nil && a.tap.Viewers(key) > 0) },
	})
	o := site.RelayOptions{Consumers: consumers, Logger: a.log,
		Open: func(ctx context.Context, origin, camera string) (site.Feed, error) {
			return a.fedSrv.OpenLive(ctx, origin, camera)
		}}
	o.Watched = a.watched
	a.relays = site.NewRelays(a.runCtx, o)
}

// openWebRTC starts the WebRTC live view. A port that cannot be bound
// leaves it off, logged and told to players (they play LL-HLS): the node
// records whatever happens to its live views.
func (a *Agent) openWebRTC() *media.Consumer {
	w := a.cfg.Live.WebRTC
	if w.Off {
		a.whepOff = "live.webrtc.off is set"
		return nil
	}
	listen := w.Listen
	if listen == "" {
		listen = config.DefaultWebRTCListen
	}
	srv, err := whep.New(whep.Options{Listen: listen, Hosts: w.Hosts, MaxSessions: w.MaxSessions, MaxPerUser: w.MaxPerUser,
		Logger: a.log.With("component", "webrtc"), Registerer: a.reg})
	if err != nil {
		a.whepOff = err.Error()
		a.log.Error("WebRTC live view off: players fall back to LL-HLS", "err", err)
		return nil
	}
	a.whep = srv
	a.life.onCloseIdle("webrtc live view", a.whep.Close)
	c := srv.Consumer()
	return &c
}

// webrtcOffer answers a player's WHEP offer for an own or a descendant's
// camera ("site-a/Camera1", relayed on demand), recorded like any live
// viewing.
func (a *Agent) webrtcOffer(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("camera")
	if a.whep == nil {
		http.Error(w, "WebRTC is off on this node ("+a.whepOff+"): play the LL-HLS view", http.StatusNotImplemented)
		return
	}
	switch {
	case strings.Count(key, "/") == 0 && !strings.HasSuffix(key, config.SubStreamSuffix):
		if _, ok := a.camera(key); !ok {
			http.Error(w, fmt.Sprintf("unknown camera %q", key), http.StatusNotFound)
			return
		}
	case onDemand(key):
		if !a.startRelay(w, r, key) {
			return
		}
	default:
		http.Error(w, fmt.Sprintf("unknown camera %q: want CAMERA or NODE/CAMERA", key), http.StatusNotFound)
		return
	}
	a.auditView(r, key)
	a.whep.ServeOffer(w, r, key, a.userName(r), "/api/v1/webrtc/sessions/")
}

// webrtcEnd ends one of the caller's own WebRTC sessions.
func (a *Agent) webrtcEnd(w http.ResponseWriter, r *http.Request) {
	if a.whep == nil {
		http.Error(w, "no such WebRTC session", http.StatusNotFound)
		return
	}
	a.whep.ServeEnd(w, r.PathValue("id"), a.userName(r))
}

// watched reports whether readers that do not Touch a relay still watch
// it: RTSP readers and WebRTC sessions.
func (a *Agent) watched(key string) bool {
	return (a.rtsp != nil && a.rtsp.Readers(key) > 0) || (a.whep != nil && a.whep.Viewers(key) > 0)
}

// viewAudit remembers when a user's viewing of a camera was last recorded,
// so that a player's playlist reloads make one audit entry, not thousands.
type viewAudit struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// liveHandler serves the live view: a descendant's camera is relayed on
// demand, and each user's viewing is recorded in the audit log.
func (a *Agent) liveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, "/live/")
		key := rest
		if i := strings.LastIndexByte(rest, '/'); i > 0 {
			key = rest[:i]
		}
		// a transcoded view is fed by the camera's own stream
		src := strings.TrimSuffix(key, live.TranscodeSuffix)
		if onDemand(src) && strings.HasSuffix(r.URL.Path, "/index.m3u8") {
			if !a.startRelay(w, r, src) {
				return
			}
		} else if onDemand(src) {
			a.touchRelay(src)
		}
		if strings.HasSuffix(r.URL.Path, "/index.m3u8") {
			a.auditView(r, key)
		}
		a.live.ServeHTTP(w, r)
	})
}

// auditView records a user's viewing of a camera at most every ten
// minutes, whichever way it is watched.
func (a *Agent) auditView(r *http.Request, key string) {
	user := a.userName(r)
	a.views.mu.Lock()
	k := user + "\x00" + key
	due := time.Since(a.views.last[k]) > 10*time.Minute
	if due {
		a.views.last[k] = time.Now()
	}
	a.views.mu.Unlock()
	if due {
		a.record(r, audit.ActionViewLive, key, "")
	}
}
