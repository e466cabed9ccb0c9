package federation

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/replicate"
)

// ClientOptions configure the child side of the link to a parent.
type ClientOptions struct {
	Upstream     []string // parent replicas; the child fails over between them
	Identity     *Identity
	Log          *event.Log
	Logger       *slog.Logger
	Metrics      *Metrics
	Version      string
	Heartbeat    time.Duration // ping period; RTT and clock offset are measured on each (default 5s)
	MaxClockSkew time.Duration // offset beyond which clock_skew is raised (default 2s; NVMS-6.2)
	IdleTimeout  time.Duration // QUIC idle timeout (default 15s)
	BackoffMax   time.Duration // reconnect cap (default 30s)
	Files        FileSource    // segment files the parent may fetch (nil: none)
	Snapshots    FileSource    // plate snapshots the parent may fetch (nil: none)
	// Index lists the segments this node holds, its own and its subtree's,
	// for the parent's back-fill (nil: none).
	Index func(since time.Time) ([]IndexEntry, error)
	Live  LiveSource // cameras the parent may watch live (nil: none)
	// OnConfig stores and applies a catalogue slice from the parent; it
	// returns once the slice is durable (nil: slices are refused).
	OnConfig func(revision uint64, slice []byte) error
}

// LinkStatus is the child's view of its upstream link.
type LinkStatus struct {
	Parent      string        `json:"parent,omitempty"` // node ID
	Address     string        `json:"address,omitempty"`
	Connected   bool          `json:"connected"`
	Since       time.Time     `json:"since"`
	RTT         time.Duration `json:"rtt_ns"`
	ClockOffset time.Duration `json:"clock_offset_ns"` // parent clock minus ours
	Backlog     uint64        `json:"backlog"`
	LastError   string        `json:"last_error,omitempty"`
}

// Client keeps a child's link to its parent up and ships its event log.
type Client struct {
	o      ClientOptions
	outbox *replicate.Outbox

	mu       sync.Mutex
	st       LinkStatus
	skewed   bool
	upstream []string // the parent's replicas, from config and the catalogue
}

// SetUpstream adds the parent's replica addresses the catalogue names to
// those in the configuration, so the child fails over to every replica.
func (c *Client) SetUpstream(extra []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	c.upstream = c.upstream[:0:0]
	for _, a := range append(append([]string(nil), c.o.Upstream...), extra...) {
		if a != "" && !seen[a] {
			seen[a] = true
			c.upstream = append(c.upstream, a)
		}
	}
}

// NewClient prepares the link; Run keeps it up.
func NewClient(o ClientOptions) *Client {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 5 * time.Second
	}
	if o.MaxClockSkew == 0 {
		o.MaxClockSkew = 2 * time.Second
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 15 * time.Second
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
	c := &Client{o: o, outbox: &replicate.Outbox{Name: "upstream", Log: o.Log, Logger: o.Logger}}
	c.SetUpstream(nil)
	return c
}

// Status returns a snapshot.
func (c *Client) Status() LinkStatus {
	c.mu.Lock()
	s := c.st
	c.mu.Unlock()
	s.Backlog, _ = c.outbox.Backlog()
	return s
}

// Run dials the upstream replicas in turn, with capped backoff, until ctx
// ends.
func (c *Client) Run(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for i := 0; ; i++ {
		c.mu.Lock()
		addr := c.upstream[i%len(c.upstream)]
		c.mu.Unlock()
		up, err := c.session(ctx, addr)
		if ctx.Err() != nil {
			return
		}
		c.mu.Lock()
		c.st.Connected, c.st.Since, c.st.LastError = false, time.Now(), err.Error()
		c.mu.Unlock()
		c.o.Metrics.LinkUp.WithLabelValues(c.o.Identity.NodeID, "parent").Set(0)
		c.o.Logger.Warn("upstream link down", "address", addr, "err", err)
		if up > 30*time.Second {
			backoff = 200 * time.Millisecond
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, c.o.BackoffMax)
	}
}

// session runs one connection; it returns how long it was up.
func (c *Client) session(ctx context.Context, addr string) (time.Duration, error) {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := quic.DialAddr(dialCtx, addr, c.o.Identity.tlsConfig(false, c.o.Logger), &quic.Config{
		MaxIdleTimeout: c.o.IdleTimeout, KeepAlivePeriod: c.o.IdleTimeout / 3,
	})
	cancel()
	if err != nil {
		return 0, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.CloseWithError(0, "")
	parent, err := c.o.Identity.peerID(conn.ConnectionState().TLS)
	if err != nil {
		return 0, err
	}
	ctrl, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return 0, fmt.Errorf("open control stream: %w", err)
	}
	if err := WriteFrame(ctrl, MsgHello, Hello{NodeID: c.o.Identity.NodeID, Version: c.o.Version, Time: time.Now().UnixNano()}); err != nil {
		return 0, fmt.Errorf("send hello: %w", err)
	}
	_ = ctrl.SetReadDeadline(time.Now().Add(10 * time.Second))
	var w Welcome
	if err := Expect(ctrl, MsgWelcome, &w); err != nil {
		return 0, fmt.Errorf("parent %s: %w", parent, err)
	}
	_ = ctrl.SetReadDeadline(time.Time{})
	start := time.Now()
	c.mu.Lock()
	c.st = LinkStatus{Parent: parent, Address: addr, Connected: true, Since: start}
	c.mu.Unlock()
	c.o.Metrics.LinkUp.WithLabelValues(c.o.Identity.NodeID, "parent").Set(1)
	c.o.Logger.Info("upstream linked", "parent", parent, "address", addr)

	sessCtx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 4)
	go func() { errc <- c.heartbeat(sessCtx, ctrl) }()
	go func() { errc <- c.shipEvents(sessCtx, conn) }()
	go func() { errc <- c.shipAlarms(sessCtx, conn) }()
	go func() { errc <- c.serveRequests(sessCtx, conn) }()
	err = <-errc
	stop()
	_ = conn.CloseWithError(0, "")
	for range 3 {
		<-errc
	}
	return time.Since(start), err
}

// heartbeat pings the parent, measuring RTT and clock offset (NVMS-6.2).
func (c *Client) heartbeat(ctx context.Context, ctrl *quic.Stream) error {
	t := time.NewTicker(c.o.Heartbeat)
	defer t.Stop()
	for {
		sent := time.Now()
		if err := WriteFrame(ctrl, MsgPing, Ping{Sent: sent.UnixNano()}); err != nil {
			return fmt.Errorf("ping: %w", err)
		}
		_ = ctrl.SetReadDeadline(sent.Add(3 * c.o.Heartbeat))
		var p Pong
		if err := Expect(ctrl, MsgPong, &p); err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		now := time.Now()
		rtt := now.Sub(sent)
		// the parent read its clock about halfway through the round trip
		offset := time.Unix(0, p.Received).Sub(sent.Add(rtt / 2))
		c.mu.Lock()
		c.st.RTT, c.st.ClockOffset = rtt, offset
		c.mu.Unlock()
		c.o.Metrics.RTT.Set(rtt.Seconds())
		c.o.Metrics.ClockOffset.Set(offset.Seconds())
		c.checkSkew(offset)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) checkSkew(offset time.Duration) {
	skewed := offset > c.o.MaxClockSkew || offset < -c.o.MaxClockSkew
	c.mu.Lock()
	changed := skewed != c.skewed
	c.skewed = skewed
	c.mu.Unlock()
	if !changed {
		return
	}
	kind, sev := event.KindAlarmCleared, event.SeverityInfo
	msg := fmt.Sprintf("clock offset to the parent back within %v (%v)", c.o.MaxClockSkew, offset.Round(time.Millisecond))
	if skewed {
		kind, sev = event.KindAlarmRaised, event.SeverityMedium
		msg = fmt.Sprintf("clock differs from the parent's by %v (limit %v): check time synchronisation",
			offset.Round(time.Millisecond), c.o.MaxClockSkew)
	}
	e := event.New(kind, "", sev, event.Alarm{Key: event.AlarmClockSkew, Type: event.AlarmClockSkew, Message: msg})
	if _, err := c.o.Log.Append(e); err != nil {
		c.o.Logger.Error("store clock alarm", "err", err)
	}
}
