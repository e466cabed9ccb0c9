// Package audit keeps the tamper-evident log of user actions (NVMS-6.4,
// UA-3.2): each entry is an event of kind "audit" in the node's event log,
// so it is replicated up the tree like any other event, and each carries
// the SHA-256 of its predecessor, so that altering, removing, reordering
// or inserting an entry breaks the chain where it happened.
//
// It may import event only.
package audit
