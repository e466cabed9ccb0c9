// Package replicate owns store-and-forward delivery: durable outboxes with
// per-sink cursors over the event log, at-least-once delivery whose replays
// the receiver discards by per-origin high-water marks, and a parent's
// pulling of its children's segment files: the fetch queue and its
// planner, index comparison after a reconnect, resumable transfers
// verified by sha256, bandwidth limits and on-demand fetches.
//
// It does not know the transport or the archive: a link is a Source, the
// archive a Store. It must not import federation, quic-go or archive.
package replicate
