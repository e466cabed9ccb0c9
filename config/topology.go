package config

import (
	"fmt"
	"net"
	"path"
)

// Topology makes the node a replica of its level's Raft catalogue
// (docs/topology.md); no listen: not a replica.
type Topology struct {
	Listen    string         `yaml:"listen"`    // Raft and write forwarding, TCP+TLS
	Advertise string         `yaml:"advertise"` // what other replicas dial (default listen)
	Dir       string         `yaml:"dir"`       // default DATA_DIR/topology
	Bootstrap bool           `yaml:"bootstrap"` // found a new cluster (with peers, or alone)
	Peers     []TopologyPeer `yaml:"peers"`
	// Raft timing; defaults tuned for failover within a second on a LAN
	HeartbeatTimeout   Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout    Duration `yaml:"election_timeout"`
	LeaderLeaseTimeout Duration `yaml:"leader_lease_timeout"`
	CommitTimeout      Duration `yaml:"commit_timeout"`
	ApplyTimeout       Duration `yaml:"apply_timeout"`
	SnapshotInterval   Duration `yaml:"snapshot_interval"`
	SnapshotThreshold  uint64   `yaml:"snapshot_threshold"`
	TrailingLogs       uint64   `yaml:"trailing_logs"`
}

// TopologyPeer is a founding replica.
type TopologyPeer struct {
	ID      string `yaml:"id"`
	Address string `yaml:"address"`
}

func (c *Config) validateTopology(bad func(key, format string, args ...any) error) error {
	t := &c.Topology
	if t.Listen == "" {
		return nil
	}
	if _, port, err := net.SplitHostPort(t.Listen); err != nil || port == "" {
		return bad("topology.listen", "must be host:port, e.g. 0.0.0.0:7444 (got %q)", t.Listen)
	}
	if c.Federation.TLS.Cert == "" {
		return bad("topology.listen", "a catalogue replica needs the federation certificates (federation.tls)")
	}
	if t.Dir == "" {
		t.Dir = path.Join(c.Node.DataDir, "topology")
	}
	for i, p := range t.Peers {
		if !idPattern.MatchString(p.ID) {
			return bad(fmt.Sprintf("topology.peers[%d].id", i), "must be a node ID (got %q)", p.ID)
		}
		if _, port, err := net.SplitHostPort(p.Address); err != nil || port == "" {
			return bad(fmt.Sprintf("topology.peers[%d].address", i), "must be host:port (got %q)", p.Address)
		}
	}
	for k, d := range map[string]Duration{"topology.heartbeat_timeout": t.HeartbeatTimeout,
		"topology.election_timeout": t.ElectionTimeout, "topology.leader_lease_timeout": t.LeaderLeaseTimeout,
		"topology.commit_timeout": t.CommitTimeout, "topology.apply_timeout": t.ApplyTimeout,
		"topology.snapshot_interval": t.SnapshotInterval} {
		if d < 0 {
			return bad(k, "must not be negative")
		}
	}
	return nil
}
