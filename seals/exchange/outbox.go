package exchange

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// deliver sends partner p's outbox in order, one message at a time, until
// ctx ends. A message leaves the outbox when the partner has taken it
// ("accepted" or "duplicate": a retry of one it took) or refused it
// (4xx: the same bytes would be refused again; kept in the log with the
// reason). Anything else — no connection, a timeout, a 5xx — is retried
// with the same ID, after a backoff that doubles up to RetryMax, across
// outages and restarts: the outbox is on disk.
func (x *Exchange) deliver(ctx context.Context, p *Partner) {
	client := &http.Client{
		Timeout:   x.opt.Timeout,
		Transport: &http.Transport{TLSClientConfig: x.clientTLS(p), ForceAttemptHTTP2: true, IdleConnTimeout: time.Minute},
	}
	defer client.CloseIdleConnections()
	url := strings.TrimSuffix(p.URL, "/") + MessagesPath
	backoff := 200 * time.Millisecond
	for {
		rec, err := x.head(p.ID)
		if err != nil {
			x.log.Error("seal exchange: reading the outbox failed", "partner", p.ID, "err", err)
		}
		if rec == nil {
			select {
			case <-ctx.Done():
				return
			case <-x.wake[p.ID]:
				continue
			case <-time.After(time.Minute):
				continue
			}
		}
		done, refused, err := x.post(ctx, client, url, rec)
		if ctx.Err() != nil {
			return
		}
		if err := x.settle(p.ID, rec, done, refused, err); err != nil {
			x.log.Error("seal exchange: updating the outbox failed", "partner", p.ID, "err", err)
		}
		if done || refused != "" {
			backoff = 200 * time.Millisecond
			continue
		}
		x.log.Warn("seal exchange: delivery failed; retrying", "partner", p.ID, "id", rec.Message.ID, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, x.opt.RetryMax)
	}
}

// head is the oldest message waiting for partner (nil: none).
func (x *Exchange) head(partner string) (*Record, error) {
	var rec *Record
	err := x.db.View(func(tx *bolt.Tx) error {
		prefix := append([]byte(partner), 0)
		k, _ := tx.Bucket(bucketOutbox).Cursor().Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil
		}
		var err error
		rec, err = getRecord(tx, binary.BigEndian.Uint64(k[len(prefix):]))
		return err
	})
	return rec, err
}

// post delivers one message: done when the partner took it, refused with
// its reason when it will never take it, else the error to retry on.
func (x *Exchange) post(ctx context.Context, client *http.Client, url string, rec *Record) (done bool, refused string, err error) {
	body, err := json.Marshal(rec.Message)
	if err != nil {
		return false, "not encodable: " + err.Error(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	var ans Answer
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = json.Unmarshal(raw, &ans)
	switch {
	case resp.StatusCode == http.StatusOK && (ans.Status == StatusAccepted || ans.Status == "duplicate"):
		return true, "", nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		if ans.Error == "" {
			ans.Error = strings.TrimSpace(string(raw))
		}
		return false, fmt.Sprintf("%d %s", resp.StatusCode, ans.Error), nil
	}
	return false, "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(raw)))
}

// settle records a delivery's outcome: taken or refused, the message
// leaves the outbox; otherwise its attempt and error are kept.
func (x *Exchange) settle(partner string, rec *Record, done bool, refused string, failed error) error {
	now := x.opt.Now().UTC()
	x.mu.Lock()
	st := x.state[partner]
	switch {
	case done:
		st.Delivered++
		st.LastOK = now
	case refused != "":
		st.Refused++
		st.LastError, st.LastErrorAt = refused, now
	default:
		st.LastError, st.LastErrorAt = failed.Error(), now
	}
	x.mu.Unlock()
	if refused != "" {
		x.log.Error("seal exchange: partner refused a message", "partner", partner, "id", rec.Message.ID, "reason", refused)
	}
	return x.db.Update(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, rec.Seq)
		if err != nil {
			return err
		}
		r.Attempts++
		switch {
		case done:
			r.Status, r.Delivered, r.Error = StatusDelivered, &now, ""
		case refused != "":
			r.Status, r.Error = StatusRefused, refused
		default:
			r.Error = failed.Error()
		}
		if err := putJSON(tx.Bucket(bucketLog), u64(r.Seq), r); err != nil {
			return err
		}
		if done || refused != "" {
			return tx.Bucket(bucketOutbox).Delete(key([]byte(partner), u64(r.Seq)))
		}
		return nil
	})
}

// PartnerStatus is a partner's delivery as the console shows it.
type PartnerStatus struct {
	ID          string     `json:"id"`
	Country     string     `json:"country"`
	URL         string     `json:"url"`
	Roles       []string   `json:"roles"`
	Queued      int        `json:"queued"`
	Delivered   int64      `json:"delivered"` // since the node started
	Refused     int64      `json:"refused"`
	LastOK      *time.Time `json:"last_ok,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// Partners lists the partners and their outboxes.
func (x *Exchange) Partners() ([]PartnerStatus, error) {
	out := make([]PartnerStatus, 0, len(x.order))
	err := x.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for _, p := range x.order {
			ps := PartnerStatus{ID: p.ID, Country: p.Country, URL: p.URL, Roles: p.Roles}
			prefix := append([]byte(p.ID), 0)
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				ps.Queued++
			}
			x.mu.Lock()
			st := *x.state[p.ID]
			x.mu.Unlock()
			ps.Delivered, ps.Refused, ps.LastError = st.Delivered, st.Refused, st.LastError
			if !st.LastOK.IsZero() {
				ps.LastOK = &st.LastOK
			}
			if !st.LastErrorAt.IsZero() {
				ps.LastErrorAt = &st.LastErrorAt
			}
			out = append(out, ps)
		}
		return nil
	})
	return out, err
}
