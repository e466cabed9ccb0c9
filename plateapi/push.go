// Package plateapi delivers every plate read to the external plate API of
// CGR-4.3: one JSON POST per read, from a durable outbox, retried until the
// API accepts it, with an idempotency key so a replay is harmless.
//
// It may import event, replicate and internal/webhook; it may not import anpr (cgo) or
// federation.
package plateapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/webhook"
	"github.com/kuzet/kuzet/replicate"
)

// Read is the body POSTed for one plate read (CGR-4.3).
type Read struct {
	ID         string    `json:"id"` // also the Idempotency-Key header
	Time       time.Time `json:"time"`
	Direction  string    `json:"direction"` // entry | exit
	Plate      string    `json:"plate"`
	Country    string    `json:"country,omitempty"`
	Confidence float64   `json:"confidence"`
	Camera     string    `json:"camera"`
	Node       string    `json:"node"`
	Photo      string    `json:"photo,omitempty"`       // overview JPEG, base64
	PlatePhoto string    `json:"plate_photo,omitempty"` // plate crop JPEG, base64
	Archive    string    `json:"archive"`               // e.g. Camera1\2025\08\18\11\Camera1_2025_08_18_11_05.mp4
	Offset     float64   `json:"archive_offset_seconds"`
}

// Options configure the pusher.
type Options struct {
	URL        string
	AuthHeader string // "Name: value", sent with every request (optional)
	Timeout    time.Duration
	Log        *event.Log
	PlatesDir  string // where plate.read snapshots are stored
	Kind       string // event kind of plate reads
	Logger     *slog.Logger
	Client     *http.Client
	BackoffMax time.Duration
	// FailAlarmAfter raises plate_api_failing after this many failed
	// attempts in a row (default 5); it clears on the next success.
	FailAlarmAfter int
}

// payload mirrors the plate.read event fields the API needs.
type payload struct {
	Plate       string  `json:"plate"`
	Country     string  `json:"country"`
	Confidence  float64 `json:"confidence"`
	Direction   string  `json:"direction"`
	Overview    string  `json:"overview"`
	Crop        string  `json:"crop"`
	ArchiveLink string  `json:"archive_link"`
	Offset      float64 `json:"offset_seconds"`
}

// Run delivers plate reads stored on this node until ctx ends.
func Run(ctx context.Context, o Options) {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = time.Minute
	}
	if o.FailAlarmAfter == 0 {
		o.FailAlarmAfter = 5
	}
	self := o.Log.Origin()
	ob := &replicate.Outbox{
		Name: "plate-api", Log: o.Log, Batch: 1, Logger: o.Logger,
		Filter: func(e event.Event) bool { return e.Kind == o.Kind && e.Origin == self },
	}
	p := &pusher{o: o, target: webhook.Target{URL: o.URL, AuthHeader: o.AuthHeader, Client: o.Client, What: "plate API"}}
	p.retry = &webhook.Retry{Min: time.Second, Max: o.BackoffMax, FailAfter: o.FailAlarmAfter,
		OnFailing: p.failing, OnRecovered: p.recovered}
	// an alarm raised before a restart must still be cleared after it
	if v, err := o.Log.Cursor(alarmState); err == nil {
		p.retry.Failing(v == 1)
	}
	for ctx.Err() == nil {
		// deliver only fails when ctx ends: it retries each read itself
		if err := ob.Run(ctx, p.deliver); err != nil && ctx.Err() == nil {
			o.Logger.Error("plate API outbox stopped", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

type pusher struct {
	o      Options
	target webhook.Target
	retry  *webhook.Retry
}

func (p *pusher) deliver(ctx context.Context, batch []event.Event) error {
	for _, e := range batch {
		body, err := p.body(e)
		if err != nil {
			// a read that cannot be encoded would block every later one
			p.o.Logger.Error("plate read cannot be sent; skipped", "id", e.ID(), "err", err)
			continue
		}
		p.retry.OnAttempt = func(attempt, status int, err error, _ time.Duration) {
			p.o.Logger.Info("plate API delivery", "id", e.ID(), "attempt", attempt, "status", status, "err", errString(err))
		}
		if err := p.retry.Until(ctx, func(ctx context.Context) (int, error) { return p.target.Post(ctx, e.ID(), body) }); err != nil {
			return err
		}
	}
	return nil
}

func (p *pusher) body(e event.Event) ([]byte, error) {
	var pl payload
	if err := json.Unmarshal(e.Payload, &pl); err != nil {
		return nil, fmt.Errorf("decode plate read: %w", err)
	}
	r := Read{ID: e.ID(), Time: e.Time, Direction: pl.Direction, Plate: pl.Plate, Country: pl.Country,
		Confidence: pl.Confidence, Camera: e.Camera, Node: e.Origin, Archive: pl.ArchiveLink, Offset: pl.Offset}
	r.Photo = p.photo(pl.Overview)
	r.PlatePhoto = p.photo(pl.Crop)
	return json.Marshal(r)
}

// photo reads a snapshot for the request; a missing one (retention) is
// sent without a photo rather than never.
func (p *pusher) photo(rel string) string {
	if rel == "" || strings.Contains(rel, "..") {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(p.o.PlatesDir, filepath.FromSlash(rel)))
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (p *pusher) failing(failures int, err error) bool {
	return p.alarm(event.KindAlarmRaised, event.SeverityMedium,
		fmt.Sprintf("plate API %s failing %d times in a row: %v; reads are kept and retried",
			webhook.Endpoint(p.o.URL), failures, err))
}

func (p *pusher) recovered() bool {
	return p.alarm(event.KindAlarmCleared, event.SeverityInfo, "plate API accepts reads again")
}

// alarmState is kept beside the outbox cursor: 1 while the alarm is raised.
const alarmState = "plate-api-alarm"

func (p *pusher) alarm(kind string, sev event.Severity, msg string) bool {
	e := event.New(kind, "", sev, event.Alarm{Key: AlarmFailing, Type: AlarmFailing, Message: msg})
	if _, err := p.o.Log.Append(e); err != nil {
		p.o.Logger.Error("store plate API alarm", "err", err)
		return false
	}
	state := uint64(0)
	if kind == event.KindAlarmRaised {
		state = 1
	}
	if err := p.o.Log.SetCursor(alarmState, state); err != nil {
		p.o.Logger.Error("store plate API alarm state", "err", err)
	}
	return true
}

// AlarmFailing is raised while the plate API keeps refusing reads.
const AlarmFailing = "plate_api_failing"

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
