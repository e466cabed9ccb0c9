// Package federation owns the QUIC links between child and parent nodes:
// mTLS identities, the wire protocol, link lifecycle, heartbeats and clock
// offset, traffic priorities and remote live/archive requests, and the
// hierarchy as observed through those links (Observed). It holds no
// storage of its own.
//
// It may import archive, event, media and replicate; it may not import
// site, api or agent: a node's cameras and stores are handed to it as
// funcs and values.
package federation
