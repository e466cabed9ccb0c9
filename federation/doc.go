// Package federation owns the QUIC links between child and parent nodes:
// mutual TLS over the identities package pki issues and loads, the wire
// protocol, link lifecycle, heartbeats and clock offset, traffic
// priorities and remote live/archive requests, and the hierarchy as
// observed through those links (Observed). It holds no storage of its own.
//
// It may import event, media, pki and replicate; it may not import site,
// api or agent: a node's cameras and stores are handed to it as funcs and
// values.
package federation
