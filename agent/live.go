package agent

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/live"
	"github.com/kuzet/kuzet/media"
	"github.com/kuzet/kuzet/netaddr"
	"github.com/kuzet/kuzet/restream"
	"github.com/kuzet/kuzet/site"
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
		IdleStop: l.IdleStop.Std(), Cameras: ids, Logger: a.log.With("component", "live"), Registerer: a.reg})
	if err != nil {
		return nil, err
	}
	a.life.loop("live view", a.live.Run)
	out := []media.Consumer{a.live.Consumer()}
	if r := a.cfg.RTSP; r.Listen != "" {
		o, err := a.rtspAccess()
		if err != nil {
			return nil, err
		}
		o.Listen, o.UDPPort, o.DisableUDP, o.Cameras = r.Listen, r.UDPPort, r.UDPPort == 0, ids
		o.Logger, o.Registerer = a.log.With("component", "rtsp"), a.reg
		o.OnDemand = func(ctx context.Context, camera string) error {
			if strings.Count(camera, "/") != 1 {
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

// ensureRelay starts relaying a descendant's camera ("site-a/Camera1") into
// the live view if it is not flowing yet, and waits for its first session.
func (a *Agent) ensureRelay(ctx context.Context, key string) error {
	origin, camera := a.splitCamera(key)
	if origin == a.cfg.Node.ID {
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

// openRelays feeds descendants' cameras, pulled through the child links,
// to the live view and the re-stream.
func (a *Agent) openRelays(consumers []media.Consumer) {
	o := site.RelayOptions{Consumers: consumers, Logger: a.log,
		Open: func(ctx context.Context, origin, camera string) (site.Feed, error) {
			return a.fedSrv.OpenLive(ctx, origin, camera)
		}}
	if a.rtsp != nil {
		o.Watched = func(key string) bool { return a.rtsp.Readers(key) > 0 }
	}
	a.relays = site.NewRelays(a.runCtx, o)
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
		if strings.Count(key, "/") == 1 && strings.HasSuffix(r.URL.Path, "/index.m3u8") {
			ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
			err := a.ensureRelay(ctx, key)
			cancel()
			if err != nil {
				http.Error(w, "live relay: "+err.Error(), http.StatusBadGateway)
				return
			}
		} else if strings.Count(key, "/") == 1 {
			a.relays.Touch(key)
		}
		if strings.HasSuffix(r.URL.Path, "/index.m3u8") {
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
		a.live.ServeHTTP(w, r)
	})
}
