package exchange

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Partner is another operator: where it takes messages, the CA that
// issues its certificates, and its roles (national, tracking, transit).
type Partner struct {
	ID      string
	Country string
	URL     string
	Roots   *x509.CertPool
	Roles   []string
}

// Has reports whether p plays role.
func (p *Partner) Has(role string) bool { return slices.Contains(p.Roles, role) }

// Options open an exchange.
type Options struct {
	Operator string          // this operator's ID
	Listen   string          // host:port partners deliver to
	Listener net.Listener    // instead of Listen (tests)
	Cert     tls.Certificate // LoadCertificate
	Partners []Partner
	Path     string // the store (bbolt)
	Timeout  time.Duration
	RetryMax time.Duration
	LimitKM  float64       // route deviation limit for routes that set none
	Keep     time.Duration // how long the store keeps what it holds (default DefaultKeep)
	Log      *slog.Logger
	Now      func() time.Time
	// VisitOf names the visit a crossing's read belongs to ("": none
	// known), as crossings are listed.
	VisitOf func(Crossing) string
	// Alarm raises an alarm (nil: none raised); an error leaves it to be
	// raised again.
	Alarm func(Alarm) error
}

// Exchange is one operator's end of the exchange.
type Exchange struct {
	opt      Options
	log      *slog.Logger
	db       *bolt.DB
	partners map[string]*Partner
	order    []*Partner // as configured
	ln       net.Listener
	srv      *http.Server
	refusals atomic.Int64 // connections and messages refused

	mu    sync.Mutex
	state map[string]*linkState // by partner
	wake  map[string]chan struct{}

	alarmWake chan struct{}
}

// linkState is what the console shows of a partner's delivery.
type linkState struct {
	Delivered   int64
	LastOK      time.Time
	LastError   string
	LastErrorAt time.Time
	Refused     int64
}

// Open opens the store and the partners' listener.
func Open(o Options) (*Exchange, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.Keep <= 0 {
		o.Keep = DefaultKeep
	}
	if o.LimitKM <= 0 {
		o.LimitKM = DefaultLimitKM
	}
	x := &Exchange{opt: o, log: o.Log, partners: map[string]*Partner{}, state: map[string]*linkState{}, wake: map[string]chan struct{}{},
		alarmWake: make(chan struct{}, 1)}
	for i := range o.Partners {
		p := &o.Partners[i]
		if p.ID == o.Operator {
			return nil, fmt.Errorf("seals: partner %s is this operator", p.ID)
		}
		x.partners[p.ID] = p
		x.order = append(x.order, p)
		x.state[p.ID] = &linkState{}
		x.wake[p.ID] = make(chan struct{}, 1)
	}
	db, err := bolt.Open(o.Path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("seals: open store %s: %w", o.Path, err)
	}
	x.db = db
	if err := x.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("seals: store %s: %w", o.Path, err)
	}
	x.ln = o.Listener
	if x.ln == nil && o.Listen != "" {
		ln, err := net.Listen("tcp", o.Listen)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("seals.listen: %w", err)
		}
		x.ln = ln
	}
	return x, nil
}

// Addr is where partners deliver (nil: no listener).
func (x *Exchange) Addr() net.Addr {
	if x.ln == nil {
		return nil
	}
	return x.ln.Addr()
}

// Run serves partners and delivers the outboxes until ctx ends.
func (x *Exchange) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if x.ln != nil {
		mux := http.NewServeMux()
		mux.Handle("POST "+MessagesPath, http.HandlerFunc(x.receive))
		x.srv = &http.Server{
			Handler: mux, TLSConfig: x.serverTLS(),
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
			ErrorLog: slog.NewLogLogger(x.log.Handler(), slog.LevelDebug),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := x.srv.ServeTLS(x.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				x.log.Error("seal exchange: listener stopped", "err", err)
			}
		}()
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = x.srv.Shutdown(sctx)
		}()
	}
	for _, p := range x.order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.deliver(ctx, p)
		}()
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		x.watchPeriods(ctx)
	}()
	go func() {
		defer wg.Done()
		x.pruneLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		x.raiseAlarms(ctx)
	}()
	wg.Wait()
}

// Close closes the store (after Run has returned) and a listener Run
// never served.
func (x *Exchange) Close() error {
	if x.srv == nil && x.ln != nil {
		x.ln.Close()
	}
	return x.db.Close()
}

// MessagesPath is where an operator's exchange takes messages (POST, one
// message as JSON).
const MessagesPath = "/eaeu/v1/messages"
