// Package sftppush copies every closed segment of this node to an SFTP
// target in the archive layout (CGR-5). Segments are taken from the event
// log through a durable cursor into a durable queue, uploaded to NAME.part,
// checked for size and only then renamed to NAME, so the target never holds
// a partial file under a final name. Transfers resume after outages and
// restarts, retry with capped backoff, and raise sftp_push_failing when
// the target has been failing for too long. The pusher only reads segment
// files and the event log: a slow or absent target never affects recording.
package sftppush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/ssh"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/replicate"
)

// AlarmFailing is raised while pushes have been failing for longer than
// Options.AlarmAfter, and cleared by the next successful push.
const AlarmFailing = "sftp_push_failing"

// CursorName is the pusher's cursor in the event log.
const CursorName = "sftp-push"

// Options configure a Pusher.
type Options struct {
	Host     string
	Port     int // default 22
	User     string
	Password string // password, or
	KeyFile  string // an unencrypted private key file (OpenSSH or PEM)
	// KnownHostKey pins the target: "ssh-ed25519 AAAA...", a known_hosts
	// or ssh-keyscan line, or a "SHA256:..." fingerprint. Required.
	KnownHostKey string
	Root         string // remote directory that receives the archive layout

	ArchiveRoot string     // the local archive root segments are read from
	QueuePath   string     // the queue's bbolt file, e.g. DATA_DIR/sftp-push.db
	Log         *event.Log // segment.closed events in, alarms out

	MaxBytesPerSecond float64       // upload cap; 0: none
	BackoffMin        time.Duration // first retry delay (default 1s)
	BackoffMax        time.Duration // retry delay cap (default 1m)
	AlarmAfter        time.Duration // failing this long raises the alarm (default 15m)
	// Timeout bounds connecting and any stall of an open connection
	// (default 30s).
	Timeout    time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Pusher uploads closed segments to one SFTP target.
type Pusher struct {
	o       Options
	addr    string
	host    knownHost
	auth    []ssh.AuthMethod
	q       *queue
	m       *metrics
	log     *slog.Logger
	limiter *replicate.Limiter

	// failure tracking, owned by the upload loop
	failingSince time.Time
	alarmed      bool
}

// New checks the options and opens the queue.
func New(o Options) (*Pusher, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Port == 0 {
		o.Port = 22
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = time.Second
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = time.Minute
	}
	if o.AlarmAfter == 0 {
		o.AlarmAfter = 15 * time.Minute
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	switch {
	case o.Host == "":
		return nil, errors.New("sftp push: host is not set")
	case o.Port < 1 || o.Port > 65535:
		return nil, fmt.Errorf("sftp push: port %d is outside 1..65535", o.Port)
	case o.User == "":
		return nil, errors.New("sftp push: user is not set")
	case o.Password == "" && o.KeyFile == "":
		return nil, errors.New("sftp push: set a password or a key file")
	case o.Root == "" || !path.IsAbs(o.Root):
		return nil, fmt.Errorf("sftp push: root %q must be an absolute remote path", o.Root)
	case o.ArchiveRoot == "":
		return nil, errors.New("sftp push: archive root is not set")
	case o.QueuePath == "":
		return nil, errors.New("sftp push: queue path is not set")
	case o.Log == nil:
		return nil, errors.New("sftp push: event log is not set")
	case o.MaxBytesPerSecond < 0:
		return nil, fmt.Errorf("sftp push: max rate %v is negative", o.MaxBytesPerSecond)
	case o.BackoffMin <= 0 || o.BackoffMax < o.BackoffMin:
		return nil, fmt.Errorf("sftp push: backoff %v..%v is not a positive range", o.BackoffMin, o.BackoffMax)
	case o.AlarmAfter < 0 || o.Timeout < 0:
		return nil, errors.New("sftp push: alarm_after and timeout must be positive")
	}
	o.Root = path.Clean(o.Root)
	host, err := parseKnownHostKey(o.KnownHostKey)
	if err != nil {
		return nil, fmt.Errorf("sftp push: %w", err)
	}
	p := &Pusher{o: o, addr: joinHostPort(o.Host, o.Port), host: host, log: o.Logger,
		limiter: replicate.NewLimiter(o.MaxBytesPerSecond)}
	if o.KeyFile != "" {
		b, err := os.ReadFile(o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("sftp push: read key file: %w", err)
		}
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			var pe *ssh.PassphraseMissingError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("sftp push: key file %s is encrypted; give an unencrypted key readable only by the node", o.KeyFile)
			}
			return nil, fmt.Errorf("sftp push: key file %s: %w", o.KeyFile, err)
		}
		p.auth = append(p.auth, ssh.PublicKeys(signer))
	}
	if o.Password != "" {
		pw := o.Password
		p.auth = append(p.auth, ssh.Password(pw),
			// servers that take passwords through PAM ask this way
			ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
				ans := make([]string, len(qs))
				for i := range ans {
					ans[i] = pw
				}
				return ans, nil
			}))
	}
	q, err := openQueue(o.QueuePath)
	if err != nil {
		return nil, fmt.Errorf("sftp push: %w", err)
	}
	p.q = q
	if p.alarmed, err = q.alarmed(); err != nil {
		q.close()
		return nil, fmt.Errorf("sftp push: read alarm state: %w", err)
	}
	if p.m, err = newMetrics(o.Registerer, q); err != nil {
		q.close()
		return nil, fmt.Errorf("sftp push: register metrics: %w", err)
	}
	if p.alarmed {
		p.m.failing.Set(1)
	}
	return p, nil
}

func joinHostPort(h string, port int) string {
	return net.JoinHostPort(h, strconv.Itoa(port))
}

// Close closes the queue; call it after Run has returned.
func (p *Pusher) Close() error { return p.q.close() }

// Queued is the number of segments waiting and their bytes.
func (p *Pusher) Queued() (files int, bytes int64) { return p.q.size() }

// Run queues closed segments from the event log and uploads them until ctx
// ends. It returns nil then; it never gives up on its own.
func (p *Pusher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.feed(ctx)
	}()
	p.uploadLoop(ctx)
	wg.Wait()
	return nil
}

// feed moves segment.closed events of this node from the log into the
// queue; the cursor only advances once they are queued durably.
func (p *Pusher) feed(ctx context.Context) {
	self := p.o.Log.Origin()
	ob := &replicate.Outbox{
		Name: CursorName, Log: p.o.Log, Logger: p.log,
		Filter: func(e event.Event) bool { return e.Kind == event.KindSegmentClosed && e.Origin == self },
	}
	for ctx.Err() == nil {
		err := ob.Run(ctx, p.enqueue)
		if err == nil || ctx.Err() != nil {
			return
		}
		p.log.Error("sftp push: read event log", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (p *Pusher) enqueue(_ context.Context, batch []event.Event) error {
	items := make([]item, 0, len(batch))
	for _, e := range batch {
		var seg archive.Segment
		if err := json.Unmarshal(e.Payload, &seg); err != nil {
			// an event that cannot be read would block every later one
			p.log.Error("sftp push: segment event unreadable; skipped", "event", e.ID(), "err", err)
			continue
		}
		if err := event.CheckRel(seg.Path); err != nil {
			p.log.Error("sftp push: segment path refused; skipped", "event", e.ID(), "err", err)
			continue
		}
		items = append(items, item{Seg: seg, Event: e.ID()})
	}
	if len(items) == 0 {
		return nil
	}
	n, err := p.q.add(items)
	if err != nil {
		return err
	}
	if n > 0 {
		p.log.Debug("sftp push: queued", "segments", n)
	}
	return nil
}

// uploadLoop pushes the queue head by head. A failure with the target
// unreachable retries the same file; a failure of one file on a working
// connection moves that file to the back.
func (p *Pusher) uploadLoop(ctx context.Context) {
	var conn *remote
	defer func() { conn.close() }()
	backoff := p.o.BackoffMin
	for ctx.Err() == nil {
		key, it, ok, err := p.q.first()
		if err != nil {
			p.log.Error("sftp push: read queue", "err", err)
			p.sleep(ctx, backoff)
			continue
		}
		if !ok {
			// keep the connection for the next segment, but not forever
			idle := time.NewTimer(p.o.Timeout)
			select {
			case <-ctx.Done():
			case <-p.q.wake:
			case <-idle.C:
				conn.close()
				conn = nil
			}
			idle.Stop()
			continue
		}
		if conn == nil {
			conn, err = p.dial(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				p.failed(fmt.Errorf("connect to %s: %w", p.addr, err), it, backoff)
				p.sleep(ctx, backoff)
				backoff = p.next(backoff)
				continue
			}
		}
		err = p.upload(ctx, conn, it)
		switch {
		case err == nil:
			if err := p.q.done(key, it); err != nil {
				p.log.Error("sftp push: dequeue", "path", it.Seg.Path, "err", err)
			}
			p.succeeded()
			backoff = p.o.BackoffMin
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLocalGone):
			p.log.Warn("sftp push: segment no longer in the archive; skipped", "path", it.Seg.Path, "event", it.Event, "err", err)
			p.m.skipped.Inc()
			if err := p.q.done(key, it); err != nil {
				p.log.Error("sftp push: dequeue", "path", it.Seg.Path, "err", err)
			}
		default:
			if conn.alive() {
				if rerr := p.q.requeue(key, it); rerr != nil {
					p.log.Error("sftp push: requeue", "path", it.Seg.Path, "err", rerr)
				}
				it.Tries++
			} else {
				conn.close()
				conn = nil
			}
			p.failed(err, it, backoff)
			p.sleep(ctx, backoff)
			backoff = p.next(backoff)
		}
	}
}

// next doubles the delay up to the cap, with jitter so that nodes cut off
// together do not come back in step.
func (p *Pusher) next(d time.Duration) time.Duration {
	d *= 2
	d += time.Duration(rand.Int64N(int64(d)/4 + 1))
	return min(d, p.o.BackoffMax)
}

func (p *Pusher) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (p *Pusher) failed(err error, it item, retryIn time.Duration) {
	p.m.failures.Inc()
	now := time.Now()
	if p.failingSince.IsZero() {
		p.failingSince = now
	}
	p.log.Warn("sftp push failed", "path", it.Seg.Path, "event", it.Event, "tries", it.Tries,
		"retry_in", retryIn.String(), "failing_for", now.Sub(p.failingSince).Round(time.Second).String(), "err", err)
	if !p.alarmed && now.Sub(p.failingSince) >= p.o.AlarmAfter {
		files, bytes := p.q.size()
		p.alarm(event.KindAlarmRaised, event.SeverityMedium, fmt.Sprintf(
			"SFTP push to %s failing for %s (%d segments, %d MB waiting): %v; segments stay queued and are retried",
			p.addr, now.Sub(p.failingSince).Round(time.Second), files, bytes>>20, err))
	}
}

func (p *Pusher) succeeded() {
	p.failingSince = time.Time{}
	if p.alarmed {
		p.alarm(event.KindAlarmCleared, event.SeverityInfo, fmt.Sprintf("SFTP push to %s works again", p.addr))
	}
}

func (p *Pusher) alarm(kind string, sev event.Severity, msg string) {
	raised := kind == event.KindAlarmRaised
	e := event.New(kind, "", sev, event.Alarm{Key: AlarmFailing, Type: AlarmFailing, Message: msg})
	if _, err := p.o.Log.Append(e); err != nil {
		p.log.Error("sftp push: store alarm", "kind", kind, "err", err)
		return // try again at the next failure or success
	}
	p.alarmed = raised
	p.m.failing.Set(map[bool]float64{true: 1, false: 0}[raised])
	if err := p.q.setAlarmed(raised); err != nil {
		p.log.Error("sftp push: store alarm state", "err", err)
	}
}
