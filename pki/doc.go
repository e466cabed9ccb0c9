// Package pki owns the federation's certificates: the CA, issuing node
// certificates that name their node, loading a node's identity, and checking
// a peer's certificate against the CA and the revocation list for mutual TLS.
//
// It is a leaf: it may not import other Kuzet packages, so that every
// package speaking between nodes (federation links, the catalogue's Raft)
// can share it.
package pki
