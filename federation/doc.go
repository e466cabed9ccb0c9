// Package federation owns the QUIC links between child and parent nodes:
// mTLS identities, the wire protocol, link lifecycle, heartbeats and
// clock offset, traffic priorities, and the streams that carry remote
// live, file and index requests. It holds no storage of its own: what a
// parent pulls over a link, and when, is replicate's (a link is a
// replicate.Source to its Puller). It must not import archive.
package federation
