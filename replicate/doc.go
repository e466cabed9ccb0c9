// Package replicate will own durable outboxes and cursors, at-least-once
// delivery with idempotent apply, fragment shipping with resume and
// checksums, bandwidth limiting and gap back-fill. It does not know QUIC.
package replicate
