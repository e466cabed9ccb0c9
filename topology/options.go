package topology

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kuzet/kuzet/pki"
)

// Timing defaults, chosen for replicas of one centre on a LAN or centres
// of one tier over a national WAN (round trips up to ~100 ms):
//
//   - The leader sends heartbeats every HeartbeatTimeout/10 (30 ms); a
//     follower calls an election after HeartbeatTimeout..2×HeartbeatTimeout
//     without one. 300 ms is three WAN round trips, and ten heartbeats, so a
//     lost packet or a GC pause does not depose a healthy leader, while a
//     dead leader is replaced well within a second (Raft's library default of
//     1 s gives 1.5-3 s, etcd's 1-1.5 s).
//   - ElectionTimeout equal to it: a vote needs one round trip; the random
//     spread of 1-2× keeps candidates from splitting the vote.
//   - A leader steps down after LeaderLeaseTimeout without a quorum, so a
//     leader cut off from its peers stops taking writes before the others
//     elect a new one.
//   - CommitTimeout: when no new entries come, the leader tells followers
//     the commit index every 1-2× this. A write taken by a follower is
//     answered once that follower has applied it (read-your-writes), so
//     this is most of a forwarded write's latency; 10 ms costs an idle
//     follower under 100 small messages a second.
const (
	DefaultHeartbeatTimeout   = 300 * time.Millisecond
	DefaultElectionTimeout    = 300 * time.Millisecond
	DefaultLeaderLeaseTimeout = 250 * time.Millisecond
	DefaultCommitTimeout      = 10 * time.Millisecond
	DefaultApplyTimeout       = 10 * time.Second
	// The catalogue changes at human pace, so snapshots are cheap and rare.
	DefaultSnapshotInterval  = 2 * time.Minute
	DefaultSnapshotThreshold = 1024
	DefaultTrailingLogs      = 1024
)

// Peer is one replica of the catalogue: its node ID (the one its
// federation certificate names) and the address of its Raft port.
type Peer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

func checkPeer(p Peer) error {
	if err := checkID("replica id", p.ID); err != nil {
		return err
	}
	if err := checkHostPort(p.Address); err != nil {
		return invalidf("replica %s: address %q: %v", p.ID, p.Address, err)
	}
	return nil
}

// Options configures a replica.
type Options struct {
	// Identity is the node's federation identity; its node ID is the
	// replica's Raft ID. Required.
	Identity *pki.Identity
	// Dir holds the Raft log and stable store (raft.db) and snapshots.
	// Required, e.g. DATA_DIR/topology.
	Dir string
	// Key seals the records in the Raft log and snapshots (camera
	// passwords) with this node's key; nil: Dir/secret.key, made on first
	// start. Nodes pass their DATA_DIR/secret.key.
	Key *SecretKey
	// Listen is the TCP address of the Raft and forwarding port, e.g.
	// 0.0.0.0:7444. Required.
	Listen string
	// Advertise is the address other replicas dial; default Listen (which
	// then needs a host).
	Advertise string
	// Bootstrap makes a replica with no state found a new cluster of itself
	// and Peers. Every founding replica may be given the same list; a
	// replica that already has state ignores it.
	Bootstrap bool
	Peers     []Peer

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// ApplyTimeout bounds a write: waiting for a leader, and for a quorum.
	ApplyTimeout time.Duration

	SnapshotInterval  time.Duration
	SnapshotThreshold uint64 // log entries between snapshots
	TrailingLogs      uint64 // entries kept after a snapshot for lagging followers

	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: no metrics
}

func (o *Options) defaults() error {
	if o.Identity == nil {
		return fmt.Errorf("catalogue: a federation identity is required")
	}
	if o.Dir == "" {
		return fmt.Errorf("catalogue: a data directory is required")
	}
	if o.Listen == "" {
		return fmt.Errorf("catalogue: a listen address is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	dur(&o.HeartbeatTimeout, DefaultHeartbeatTimeout)
	dur(&o.ElectionTimeout, DefaultElectionTimeout)
	dur(&o.LeaderLeaseTimeout, DefaultLeaderLeaseTimeout)
	dur(&o.CommitTimeout, DefaultCommitTimeout)
	dur(&o.ApplyTimeout, DefaultApplyTimeout)
	dur(&o.SnapshotInterval, DefaultSnapshotInterval)
	if o.SnapshotThreshold == 0 {
		o.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if o.TrailingLogs == 0 {
		o.TrailingLogs = DefaultTrailingLogs
	}
	for _, c := range []struct {
		key string
		d   time.Duration
	}{{"heartbeat_timeout", o.HeartbeatTimeout}, {"election_timeout", o.ElectionTimeout},
		{"leader_lease_timeout", o.LeaderLeaseTimeout}, {"commit_timeout", o.CommitTimeout}} {
		if c.d < 5*time.Millisecond || c.d > time.Minute {
			return fmt.Errorf("catalogue: %s must be between 5ms and 1m (got %v)", c.key, c.d)
		}
	}
	if o.LeaderLeaseTimeout > o.HeartbeatTimeout {
		return fmt.Errorf("catalogue: leader_lease_timeout (%v) must not exceed heartbeat_timeout (%v)", o.LeaderLeaseTimeout, o.HeartbeatTimeout)
	}
	if o.ElectionTimeout < o.HeartbeatTimeout {
		return fmt.Errorf("catalogue: election_timeout (%v) must be at least heartbeat_timeout (%v)", o.ElectionTimeout, o.HeartbeatTimeout)
	}
	seen := map[string]bool{o.Identity.NodeID: true}
	for _, p := range o.Peers {
		if err := checkPeer(p); err != nil {
			return fmt.Errorf("catalogue peers: %w", err)
		}
		if seen[p.ID] {
			if p.ID == o.Identity.NodeID {
				continue // the node itself may be listed with the others
			}
			return fmt.Errorf("catalogue peers: %s is listed twice", p.ID)
		}
		seen[p.ID] = true
	}
	return nil
}
