// Package topology will own the Raft-replicated catalogue of the hierarchy:
// nodes, links, cameras, zones, users and policies, with snapshots,
// membership and leader forwarding. High-rate state stays out of it.
package topology
