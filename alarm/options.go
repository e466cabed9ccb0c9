package alarm

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/event"
)

// Rules shape the table. A zero duration takes the default; a negative one
// turns the rule off.
type Rules struct {
	// Severity overrides the severity raisers give, per alarm type.
	Severity map[string]event.Severity
	// Dedupe: a raise of a key whose alarm is open, within this long of the
	// alarm's last sighting, is a repeat (its count goes up, nobody is
	// notified). Later, it opens a new alarm that supersedes the old one.
	Dedupe time.Duration
	// Suppress: a key raised again within this long of its clear re-opens
	// the same alarm at once (a flap makes no new alarm, and a condition
	// that came back is never shown cleared); its next clear closes it.
	Suppress time.Duration
	// Escalate: an alarm not acknowledged within this long of its raise
	// (or last escalation) is escalated one severity up; grave escalates
	// once more, to call in someone else. Nil takes the default; a
	// severity missing or at 0 never escalates.
	Escalate map[event.Severity]time.Duration
}

// DefaultRules returns the rules used where none are given.
func DefaultRules() Rules {
	return Rules{
		Dedupe:   time.Minute,
		Suppress: 5 * time.Minute,
		Escalate: map[event.Severity]time.Duration{event.SeverityGrave: 2 * time.Minute, event.SeverityMedium: 10 * time.Minute},
	}
}

func (r Rules) withDefaults() Rules {
	d := DefaultRules()
	if r.Dedupe == 0 {
		r.Dedupe = d.Dedupe
	}
	if r.Suppress == 0 {
		r.Suppress = d.Suppress
	}
	if r.Escalate == nil {
		r.Escalate = d.Escalate
	}
	return r
}

func (r Rules) validate() error {
	for typ, sev := range r.Severity {
		if strings.TrimSpace(typ) == "" {
			return fmt.Errorf("alarms.severity: empty alarm type")
		}
		if _, err := ParseSeverity(string(sev)); err != nil {
			return fmt.Errorf("alarms.severity.%s: %q is not grave, medium or minor", typ, sev)
		}
	}
	for sev, d := range r.Escalate {
		if _, err := ParseSeverity(string(sev)); err != nil {
			return fmt.Errorf("alarms.escalate: %q is not grave, medium or minor", sev)
		}
		if d < 0 {
			return fmt.Errorf("alarms.escalate.%s: %v must not be negative", sev, d)
		}
	}
	return nil
}

// Webhook posts every state change to an HTTP endpoint.
type Webhook struct {
	URL        string // empty: no webhook
	AuthHeader string // "Name: value", sent with every request (optional)
	Timeout    time.Duration
	// Retries back off from BackoffMin doubling to BackoffMax (1s, 1m).
	BackoffMin, BackoffMax time.Duration
	// FailAlarmAfter raises alarm_webhook_failing after this many failures
	// in a row (default 5); it clears on the next success.
	FailAlarmAfter int
	Client         *http.Client
}

// Options configure a Manager.
type Options struct {
	Path    string     // the table's bbolt file, e.g. DATA_DIR/alarms.db
	Log     *event.Log // the node's event log: read from, and written to
	Rules   Rules
	Webhook Webhook
	// User names the authenticated user of an API request ("" : refused
	// with 401). Nil refuses every change through the API.
	User func(*http.Request) string
	// Role names the role of an API request's user; it travels with acts
	// on alarms of other nodes, whose origin decides by it.
	Role func(*http.Request) string
	// Down delivers an act on an alarm of a node below to that node, its
	// origin (see RemoteAct); nil leaves such acts here. It returns nil
	// once the origin applied the act or had already, an error wrapping
	// ErrRefused when the origin refuses it for good, and any other error
	// to be retried.
	Down func(ctx context.Context, act RemoteAct) error
	// Persists reports whether the condition of one of this node's alarms
	// still holds (a camera still offline). An alarm an operator clears
	// while it does is raised again at once (nil: never).
	Persists func(Alarm) bool
	// OnAck is called after each acknowledgement made on this node is
	// stored (the audit entry); not for acknowledgements replicated from
	// children, which were audited where they were made.
	OnAck func(user, alarmID, comment string)
	// Locate, if set, names the archive file covering a camera at a time,
	// for evidence when the raise does not carry one.
	Locate func(origin, camera string, at time.Time) string
	Now    func() time.Time
	// Tick is how often escalations, held raises and pruning are checked
	// (default 1s).
	Tick time.Duration
	// Keep is how long cleared alarms stay in the table (default 30 days);
	// their events stay in the log.
	Keep       time.Duration
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}
