// Package alarm keeps a node's alarm table: every alarm.raised and
// alarm.cleared in the node's event log — raised here or replicated from a
// child — becomes an alarm with a life (raised, acknowledged, cleared),
// shaped by rules (severity per type, dedupe, flap suppression, escalation
// of what nobody acknowledges), pushed to a webhook from a durable queue,
// and served to operators over HTTP. Operators' acknowledgements and clears
// are events too, so they travel up the federation like everything else.
//
// It may import event and internal/webhook (the delivery it shares with the
// plate API) only: the agent hands it the log, the audit hook and
// the HTTP guard.
package alarm
