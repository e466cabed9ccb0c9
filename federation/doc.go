// Package federation will own the QUIC links between child and parent
// nodes: mutual TLS over the identities package pki issues and loads, the
// wire protocol, link lifecycle, heartbeats and clock offset, traffic
// priorities and remote live/archive requests. It holds no storage of its
// own.
package federation
