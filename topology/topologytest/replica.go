// Package topologytest runs catalogue replicas as separate processes, so
// tests and benchmarks can kill, stop and restart them like real servers.
// A program (a test binary, a bench program) calls MaybeRunReplica first
// thing; the Cluster then re-executes that program as each replica.
package topologytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/topology"
)

// envReplica carries a ReplicaConfig (JSON) to a replica process.
const envReplica = "KUZET_TOPOLOGY_REPLICA"

// readyPrefix starts the line a replica prints once it serves.
const readyPrefix = "KUZET-REPLICA-READY "

// ReplicaConfig is one replica process's configuration.
type ReplicaConfig struct {
	ID            string          `json:"id"`
	Dir           string          `json:"dir"`
	PKIDir        string          `json:"pki_dir"`
	RaftListen    string          `json:"raft_listen"`
	RaftAdvertise string          `json:"raft_advertise,omitempty"` // the relay peers dial (see cutter)
	HTTPListen    string          `json:"http_listen"`
	Bootstrap     bool            `json:"bootstrap"`
	Peers         []topology.Peer `json:"peers,omitempty"`
	Timing        Timing          `json:"timing"`
	LogLevel      string          `json:"log_level,omitempty"` // debug | info | warn (default info)
}

// Timing overrides replica settings; zero keeps the defaults.
type Timing struct {
	HeartbeatTimeout   time.Duration `json:"heartbeat_timeout,omitempty"`
	ElectionTimeout    time.Duration `json:"election_timeout,omitempty"`
	LeaderLeaseTimeout time.Duration `json:"leader_lease_timeout,omitempty"`
	SnapshotInterval   time.Duration `json:"snapshot_interval,omitempty"`
	SnapshotThreshold  uint64        `json:"snapshot_threshold,omitempty"`
	TrailingLogs       uint64        `json:"trailing_logs,omitempty"`
}

// MaybeRunReplica runs a replica and exits if this process was started as
// one; otherwise it returns at once.
func MaybeRunReplica() {
	raw := os.Getenv(envReplica)
	if raw == "" {
		return
	}
	if err := runReplica(raw); err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runReplica(raw string) error {
	var cfg ReplicaConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return fmt.Errorf("%s: %w", envReplica, err)
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("replica", cfg.ID)
	ident, err := pki.LoadIdentity(filepath.Join(cfg.PKIDir, pki.CACertFile),
		filepath.Join(cfg.PKIDir, cfg.ID+".pem"), filepath.Join(cfg.PKIDir, cfg.ID+"-key.pem"), nil)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r, err := topology.Start(ctx, topology.Options{
		Identity: ident, Dir: cfg.Dir, Listen: cfg.RaftListen, Advertise: cfg.RaftAdvertise, Bootstrap: cfg.Bootstrap, Peers: cfg.Peers,
		HeartbeatTimeout: cfg.Timing.HeartbeatTimeout, ElectionTimeout: cfg.Timing.ElectionTimeout,
		LeaderLeaseTimeout: cfg.Timing.LeaderLeaseTimeout, SnapshotInterval: cfg.Timing.SnapshotInterval,
		SnapshotThreshold: cfg.Timing.SnapshotThreshold, TrailingLogs: cfg.Timing.TrailingLogs,
		Logger: log,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	mux := http.NewServeMux()
	h := http.StripPrefix(topology.APIPath, r.Handler(topology.HandlerOptions{}))
	mux.Handle(topology.APIPath+"/", h)
	mux.Handle(topology.APIPath, h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("%sraft=%s listen=%s http=%s\n", readyPrefix, r.Address(), r.ListenAddress(), ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http: %w", err)
	case <-r.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return r.Close()
}

// parseReady reads the addresses from a ready line.
func parseReady(line string) (raft, listen, httpAddr string, ok bool) {
	rest, ok := strings.CutPrefix(line, readyPrefix)
	if !ok {
		return "", "", "", false
	}
	for _, f := range strings.Fields(rest) {
		if v, ok := strings.CutPrefix(f, "raft="); ok {
			raft = v
		}
		if v, ok := strings.CutPrefix(f, "listen="); ok {
			listen = v
		}
		if v, ok := strings.CutPrefix(f, "http="); ok {
			httpAddr = v
		}
	}
	return raft, listen, httpAddr, raft != "" && listen != "" && httpAddr != ""
}
