// Package federation will own the QUIC links between child and parent
// nodes: mTLS identities, the wire protocol, link lifecycle, heartbeats and
// clock offset, traffic priorities and remote live/archive requests. It
// holds no storage of its own.
package federation
