package alarm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
)

// deliver posts queued changes one at a time, in order, until ctx ends.
// A change leaves the queue only once the receiver answered 2xx; until
// then it is retried with backoff, across restarts, with the same
// Idempotency-Key, so the receiver can store each change exactly once.
func (m *Manager) deliver(ctx context.Context) {
	w := m.o.Webhook
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: w.Timeout}
	}
	backoff := w.BackoffMin
	failures := 0
	idle := time.NewTicker(time.Second) // a missed wake-up costs at most this
	defer idle.Stop()
	for ctx.Err() == nil {
		seq, c, body, err := m.nextChange()
		if err != nil {
			m.o.Logger.Error("read alarm webhook queue", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if body == nil {
			select {
			case <-ctx.Done():
			case <-m.outboxWake:
			case <-idle.C:
			}
			continue
		}
		status, err := m.post(ctx, client, c.ID, body)
		if err == nil {
			m.metrics.deliveries.WithLabelValues("ok").Inc()
			m.o.Logger.Debug("alarm webhook delivered", "id", c.ID, "status", status)
			if err := m.dropChange(seq); err != nil {
				m.o.Logger.Error("advance alarm webhook queue", "err", err)
				sleep(ctx, time.Second)
				continue
			}
			failures, backoff = 0, w.BackoffMin
			m.webhookRecovered()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		m.metrics.deliveries.WithLabelValues("error").Inc()
		m.o.Logger.Warn("alarm webhook failed; retrying", "id", c.ID, "attempt", failures, "status", status,
			"err", bareError(err), "retry_in", backoff)
		if failures >= w.FailAlarmAfter {
			m.webhookFailing(failures, err)
		}
		sleep(ctx, backoff)
		backoff = min(2*backoff, w.BackoffMax)
	}
}

// endpoint names the webhook for people: its URL without the password
// and the query, which may carry credentials.
func endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery, u.ForceQuery, u.Fragment = "", false, ""
	return u.String()
}

// bareError drops the request URL an HTTP client error repeats.
func bareError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// nextChange returns the oldest queued change; body is nil when the queue
// is empty. A change that cannot be decoded is dropped with an error log:
// it would block every later one.
func (m *Manager) nextChange() (uint64, Change, []byte, error) {
	for {
		var seq uint64
		var body []byte
		var n int
		err := m.db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketOutbox)
			n = b.Stats().KeyN
			k, v := b.Cursor().First()
			if k != nil {
				seq, body = binary.BigEndian.Uint64(k), bytes.Clone(v)
			}
			return nil
		})
		m.metrics.backlog.Set(float64(n))
		if err != nil || body == nil {
			return 0, Change{}, nil, err
		}
		var c Change
		if err := json.Unmarshal(body, &c); err != nil || c.ID == "" {
			m.o.Logger.Error("undecodable alarm change dropped from the webhook queue", "seq", seq, "err", err)
			if err := m.dropChange(seq); err != nil {
				return 0, Change{}, nil, err
			}
			continue
		}
		return seq, c, body, nil
	}
}

func (m *Manager) dropChange(seq uint64) error {
	return m.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).Delete(u64(seq))
	})
}

func (m *Manager) post(ctx context.Context, client *http.Client, key string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.o.Webhook.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if name, value, ok := strings.Cut(m.o.Webhook.AuthHeader, ":"); ok {
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("webhook answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// webhookFailing raises alarm_webhook_failing once per outage.
func (m *Manager) webhookFailing(failures int, err error) {
	m.failMu.Lock()
	defer m.failMu.Unlock()
	if m.failing {
		return
	}
	msg := fmt.Sprintf("alarm webhook %s failing %d times in a row: %v; changes are kept and retried",
		endpoint(m.o.Webhook.URL), failures, bareError(err))
	if m.setFailing(true, event.KindAlarmRaised, event.SeverityMedium, msg) {
		m.failing = true
	}
}

func (m *Manager) webhookRecovered() {
	m.failMu.Lock()
	defer m.failMu.Unlock()
	if !m.failing {
		return
	}
	if m.setFailing(false, event.KindAlarmCleared, event.SeverityInfo, "alarm webhook accepts changes again") {
		m.failing = false
	}
}

// setFailing stores the alarm event and the state beside the queue, so a
// restart still clears what it raised.
func (m *Manager) setFailing(on bool, kind string, sev event.Severity, msg string) bool {
	e := event.New(kind, "", sev, Payload{Key: AlarmWebhookFailing, Type: AlarmWebhookFailing, Message: msg})
	e.Time = m.o.Now()
	if _, err := m.o.Log.Append(e); err != nil {
		m.o.Logger.Error("store alarm webhook alarm", "err", err)
		return false
	}
	v := byte(0)
	if on {
		v = 1
	}
	err := m.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaFailing, []byte{v})
	})
	if err != nil {
		m.o.Logger.Error("store alarm webhook state", "err", err)
	}
	return true
}
