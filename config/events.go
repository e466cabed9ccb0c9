package config

// Events bounds the node's event log (events.db): events older than
// RetentionDays are dropped, oldest first, once every reader of the log
// (the uplink, the indexes, the outboxes) has passed them. Audit entries
// go with them after a checkpoint entry attests the chain's anchor.
type Events struct {
	RetentionDays int `yaml:"retention_days"` // default 365
}

// DefaultEventRetentionDays keeps a year of events and audit entries.
const DefaultEventRetentionDays = 365

func (e *Events) defaults() {
	if e.RetentionDays == 0 {
		e.RetentionDays = DefaultEventRetentionDays
	}
}

func (c *Config) validateEvents(bad func(key, format string, args ...any) error, allowShort bool) error {
	switch d := c.Events.RetentionDays; {
	case d < 1 || d > 3650:
		return bad("events.retention_days", "must be between 1 and 3650 days (got %d)", d)
	case d < minRetentionDays && !allowShort:
		// events say what the video of the same days shows
		return bad("events.retention_days", "must be at least %d days, as video is kept (got %d)", minRetentionDays, d)
	}
	return nil
}
