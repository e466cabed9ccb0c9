package alarm

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/webhook"
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
	target := webhook.Target{URL: w.URL, AuthHeader: w.AuthHeader, Client: client, What: "webhook"}
	m.failMu.Lock()
	retry := &webhook.Retry{Min: w.BackoffMin, Max: w.BackoffMax, FailAfter: w.FailAlarmAfter,
		OnFailing: m.webhookFailing, OnRecovered: m.webhookRecovered}
	retry.Failing(m.failing)
	m.failMu.Unlock()
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
		retry.OnAttempt = func(attempt, status int, err error, retryIn time.Duration) {
			if err == nil {
				m.metrics.deliveries.WithLabelValues("ok").Inc()
				m.o.Logger.Debug("alarm webhook delivered", "id", c.ID, "status", status)
				return
			}
			m.metrics.deliveries.WithLabelValues("error").Inc()
			m.o.Logger.Warn("alarm webhook failed; retrying", "id", c.ID, "attempt", attempt, "status", status,
				"err", err, "retry_in", retryIn)
		}
		if retry.Until(ctx, func(ctx context.Context) (int, error) { return target.Post(ctx, c.ID, body) }) != nil {
			return
		}
		for m.dropChange(seq) != nil && ctx.Err() == nil {
			m.o.Logger.Error("advance alarm webhook queue", "seq", seq)
			sleep(ctx, time.Second)
		}
	}
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

// webhookFailing raises alarm_webhook_failing once per outage.
func (m *Manager) webhookFailing(failures int, err error) bool {
	m.failMu.Lock()
	defer m.failMu.Unlock()
	msg := fmt.Sprintf("alarm webhook %s failing %d times in a row: %v; changes are kept and retried",
		webhook.Endpoint(m.o.Webhook.URL), failures, err)
	if !m.setFailing(true, event.KindAlarmRaised, event.SeverityMedium, msg) {
		return false
	}
	m.failing = true
	return true
}

func (m *Manager) webhookRecovered() bool {
	m.failMu.Lock()
	defer m.failMu.Unlock()
	if !m.setFailing(false, event.KindAlarmCleared, event.SeverityInfo, "alarm webhook accepts changes again") {
		return false
	}
	m.failing = false
	return true
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
