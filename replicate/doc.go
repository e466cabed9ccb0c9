// Package replicate owns store-and-forward delivery: durable outboxes with
// per-sink cursors over the event log, at-least-once delivery whose replays
// the receiver discards by per-origin high-water marks, and (next) fragment
// shipping with resume and checksums, bandwidth limiting and back-fill. It
// does not know the transport.
package replicate
