// Package federation owns the QUIC links between child and parent nodes:
// mutual TLS over the identities package pki issues and loads, the wire
// protocol, link lifecycle, heartbeats and clock offset, traffic
// priorities, the streams that carry remote live, file and index
// requests, and the hierarchy as observed through the links (Observed).
// It holds no storage of its own: what a parent pulls over a link, and
// when, is replicate's (a link is a replicate.Source to its Puller).
//
// It may import event, media, pki and replicate; it may not import
// archive, site, api or agent: a node's cameras and stores are handed to
// it as funcs and values.
package federation
