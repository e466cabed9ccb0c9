package federation

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/replicate"
)

// ClientOptions configure the child side of the link to a parent.
type ClientOptions struct {
	Upstream     []string // parent replicas; the child fails over between them
	Identity     *pki.Identity
	Log          *event.Log
	Logger       *slog.Logger
	Metrics      *Metrics
	Version      string
	Heartbeat    time.Duration // ping period; RTT and clock offset are measured on each (default 1s)
	MaxClockSkew time.Duration // offset beyond which clock_skew is raised (default 2s; NVMS-6.2)
	// LinkTimeout is how long the parent may leave heartbeats unanswered
	// before the link counts as lost and the child moves to the next
	// replica (default 2.5× Heartbeat).
	LinkTimeout time.Duration
	// DialTimeout bounds one attempt to link to a replica, handshake and
	// welcome included, so an unreachable one is skipped fast (default
	// 1.5s). It doubles with every full round of replicas that failed, up
	// to 10s, so a slow uplink still gets through.
	DialTimeout time.Duration
	IdleTimeout time.Duration // QUIC idle timeout (default 3× Heartbeat)
	BackoffMax  time.Duration // pause between failed rounds of replicas, cap (default 30s)
	Files       FileSource    // segment files the parent may fetch (nil: none)
	Snapshots   FileSource    // plate snapshots the parent may fetch (nil: none)
	// Open resolves the file being written for a camera of this node's
	// subtree, as far as this node holds it (nil: open files are not
	// served).
	Open OpenSource
	// Status answers for this node or a descendant (nil: none).
	Status StatusSource
	// Index lists the segments this node holds, its own and its subtree's,
	// for the parent's back-fill (nil: none).
	Index func(since time.Time) ([]IndexEntry, error)
	Live  LiveSource // cameras the parent may watch live (nil: none)
	// OnConfig stores and applies a catalogue slice from the parent; it
	// returns once the slice is durable (nil: slices are refused).
	OnConfig func(revision uint64, slice []byte) error
	// Act applies an operator's act on an alarm of this node's subtree,
	// sent down by an ancestor: here when the alarm is this node's, or
	// passed on towards its origin (nil: acts are refused). An error
	// wrapping ErrActRefused is final; others are retried by the sender.
	Act func(ctx context.Context, act AlarmAct) error
	// Control drives a camera of this node's subtree for an ancestor's
	// operator: here when the camera is this node's, or passed on (nil:
	// refused).
	Control func(ctx context.Context, req ControlReq) (ControlAnswer, error)
}

// LinkStatus is the child's view of its upstream link. While Connected is
// false, Address is the replica being tried and LastError says why the
// previous attempt or link ended.
type LinkStatus struct {
	Parent      string        `json:"parent,omitempty"` // node ID (the last one linked while down)
	Address     string        `json:"address,omitempty"`
	Connected   bool          `json:"connected"`
	Since       time.Time     `json:"since"` // when the link came up, or went down
	RTT         time.Duration `json:"rtt_ns"`
	ClockOffset time.Duration `json:"clock_offset_ns"` // parent clock minus ours
	Backlog     uint64        `json:"backlog"`
	HeldBack    []HeldBack    `json:"held_back,omitempty"`
	LastError   string        `json:"last_error,omitempty"`
}

// Client keeps a child's link to its parent up and ships its event log.
type Client struct {
	o      ClientOptions
	outbox *replicate.Outbox

	mu       sync.Mutex
	st       LinkStatus
	alive    time.Time // the parent's last sign of life on the current link
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
		o.Heartbeat = time.Second
	}
	if o.MaxClockSkew == 0 {
		o.MaxClockSkew = 2 * time.Second
	}
	if o.LinkTimeout == 0 {
		o.LinkTimeout = o.Heartbeat * 5 / 2
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 1500 * time.Millisecond
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 3 * o.Heartbeat
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
	c := &Client{o: o, outbox: &replicate.Outbox{Name: "upstream", Log: o.Log, Logger: o.Logger}}
	if o.Log != nil {
		o.Log.HoldCursor(c.outbox.Name) // retention keeps what the parent may lack
	}
	c.SetUpstream(nil)
	return c
}

// Status returns a snapshot. A link whose parent has left heartbeats
// unanswered beyond LinkTimeout reads as down at once, even before the
// session winding it up has noticed.
func (c *Client) Status() LinkStatus {
	c.mu.Lock()
	s := c.st
	s.HeldBack = slices.Clone(s.HeldBack)
	if s.Connected && time.Since(c.alive) > c.o.LinkTimeout {
		s.Connected, s.Since = false, c.alive.Add(c.o.LinkTimeout)
		s.LastError = fmt.Sprintf("parent at %s silent for more than %v", s.Address, c.o.LinkTimeout)
	}
	c.mu.Unlock()
	s.Backlog, _ = c.outbox.Backlog()
	return s
}

// linkDown records the end of the current link, once.
func (c *Client) linkDown(addr string, err error) {
	c.mu.Lock()
	was := c.st.Connected
	c.st.Connected, c.st.Address, c.st.LastError = false, addr, err.Error()
	if was {
		c.st.Since = time.Now()
	}
	c.mu.Unlock()
	if was {
		c.o.Metrics.LinkUp.WithLabelValues(c.o.Identity.NodeID, "parent").Set(0)
		c.o.Logger.Warn("upstream link down", "address", addr, "err", err)
	}
}

// nextUpstream is the replica after prev in the current list (the first
// when prev is not in it), and how many replicas there are.
func (c *Client) nextUpstream(prev string) (string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.upstream)
	if n == 0 {
		return "", 0
	}
	for i, a := range c.upstream {
		if a == prev {
			return c.upstream[(i+1)%n], n
		}
	}
	return c.upstream[0], n
}

// Run links to the upstream replicas in turn until ctx ends. A lost link
// or a failed attempt moves on to the next replica at once; only after a
// whole round of replicas failed does the child pause, with capped
// exponential backoff (0.2s doubling to BackoffMax), and lengthen its dial
// timeout for slow uplinks.
func (c *Client) Run(ctx context.Context) {
	const firstBackoff = 200 * time.Millisecond
	backoff := firstBackoff
	failed, rounds := 0, 0 // attempts in this round; whole rounds failed in a row
	addr := ""
	for ctx.Err() == nil {
		var n int
		addr, n = c.nextUpstream(addr)
		if n == 0 {
			select { // nothing to dial until SetUpstream gives addresses
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		c.mu.Lock()
		if !c.st.Connected {
			c.st.Address = addr // the replica being tried
		}
		c.mu.Unlock()
		dial := max(c.o.DialTimeout, min(c.o.DialTimeout<<min(rounds, 8), 10*time.Second))
		up, err := c.session(ctx, addr, dial)
		if ctx.Err() != nil {
			return
		}
		c.linkDown(addr, err)
		if up == 0 {
			c.o.Logger.Warn("upstream replica not linked", "address", addr, "err", err)
		}
		// a link that carried heartbeats proves the tier reachable: start
		// a fresh round; one that flapped at once counts as a failure
		if up >= 2*c.o.Heartbeat {
			failed, rounds, backoff = 0, 0, firstBackoff
		}
		if failed++; failed < n {
			continue // another replica of this round is untried: dial it now
		}
		failed, rounds = 0, rounds+1
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, c.o.BackoffMax)
	}
}

// session runs one connection; it returns how long it was up (0: it never
// linked). dial bounds the handshake and the parent's welcome.
func (c *Client) session(ctx context.Context, addr string, dial time.Duration) (time.Duration, error) {
	dialCtx, cancel := context.WithTimeout(ctx, dial)
	defer cancel()
	conn, err := quic.DialAddr(dialCtx, addr, linkTLS(c.o.Identity, false, c.o.Logger), quicConfig(c.o.IdleTimeout, childAcceptsStreams))
	if err != nil {
		return 0, fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.CloseWithError(0, "")
	parent, err := c.o.Identity.PeerNodeID(conn.ConnectionState().TLS)
	if err != nil {
		return 0, err
	}
	ctrl, err := conn.OpenStreamSync(dialCtx)
	if err != nil {
		return 0, fmt.Errorf("open control stream to %s: %w", addr, err)
	}
	if err := WriteFrame(ctrl, MsgHello, Hello{NodeID: c.o.Identity.NodeID, Version: c.o.Version, Time: time.Now().UnixNano()}); err != nil {
		return 0, fmt.Errorf("send hello to %s: %w", addr, err)
	}
	_ = ctrl.SetReadDeadline(time.Now().Add(dial))
	var w Welcome
	if err := Expect(ctrl, MsgWelcome, &w); err != nil {
		return 0, fmt.Errorf("parent %s at %s: %w", parent, addr, err)
	}
	_ = ctrl.SetReadDeadline(time.Time{})
	start := time.Now()
	c.mu.Lock()
	c.st = LinkStatus{Parent: parent, Address: addr, Connected: true, Since: start}
	c.alive = start
	c.mu.Unlock()
	c.o.Metrics.LinkUp.WithLabelValues(c.o.Identity.NodeID, "parent").Set(1)
	c.o.Logger.Info("upstream linked", "parent", parent, "address", addr)

	sessCtx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 5)
	go func() { errc <- c.heartbeat(sessCtx, ctrl) }()
	go func() { errc <- c.shipEvents(sessCtx, conn) }()
	go func() { errc <- c.shipAlarms(sessCtx, conn) }()
	go func() { errc <- c.serveRequests(sessCtx, conn) }()
	go func() {
		select {
		case <-conn.Context().Done():
			errc <- fmt.Errorf("connection closed: %w", context.Cause(conn.Context()))
		case <-sessCtx.Done():
			errc <- sessCtx.Err()
		}
	}()
	err = <-errc
	err = fmt.Errorf("link to %s at %s lost: %w", parent, addr, err)
	if ctx.Err() == nil {
		c.linkDown(addr, err) // at once, not after the other streams wind up
	}
	stop()
	_ = conn.CloseWithError(0, "")
	for range 4 {
		<-errc
	}
	return time.Since(start), err
}

// heartbeat pings the parent every Heartbeat, measuring RTT and clock
// offset (NVMS-6.2). The parent must answer within LinkTimeout of its last
// answer (or of the welcome): a parent that died without closing the link
// is given up after at most that long.
func (c *Client) heartbeat(ctx context.Context, ctrl *quic.Stream) error {
	t := time.NewTicker(c.o.Heartbeat)
	defer t.Stop()
	c.mu.Lock()
	alive := c.alive
	c.mu.Unlock()
	for {
		sent := time.Now()
		deadline := alive.Add(c.o.LinkTimeout)
		_ = ctrl.SetWriteDeadline(deadline)
		if err := WriteFrame(ctrl, MsgPing, Ping{Sent: sent.UnixNano()}); err != nil {
			return fmt.Errorf("ping: %w", err)
		}
		_ = ctrl.SetReadDeadline(deadline)
		var p Pong
		if err := Expect(ctrl, MsgPong, &p); err != nil {
			if time.Now().After(deadline) {
				return fmt.Errorf("no heartbeat answer for %v: %w", c.o.LinkTimeout, err)
			}
			return fmt.Errorf("heartbeat: %w", err)
		}
		now := time.Now()
		alive = now
		rtt := now.Sub(sent)
		// the parent read its clock about halfway through the round trip
		offset := time.Unix(0, p.Received).Sub(sent.Add(rtt / 2))
		c.mu.Lock()
		c.st.RTT, c.st.ClockOffset = rtt, offset
		c.alive = now
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
