// Package topology is the catalogue of a parent tier's subtree: nodes
// (centres, regions, sites), cameras, zones, users and replication
// policies, replicated by Raft (hashicorp/raft with bbolt log and stable
// stores) over mutual TLS with the federation certificates.
//
// A tier runs 1, 3 or 5 replicas; any replica takes writes and forwards them
// to the leader. Each change is a typed, versioned command; its revision is
// its Raft index. Sites receive their Slice of the catalogue and cache it on
// disk, so they keep working while their parent is unreachable.
//
// Liveness, events and other high-rate state stay out of Raft: the tree
// view takes node status from the caller.
//
// It may import pki and netaddr; it may not import federation or agent.
package topology
