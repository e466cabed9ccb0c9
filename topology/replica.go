package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/kuzet/kuzet/pki"
)

// Replica is one member of a catalogue's Raft group. Any replica takes
// writes and forwards them to the leader.
type Replica struct {
	o     Options
	id    string
	log   *slog.Logger
	ident *pki.Identity

	fsm   *fsm
	store *raftboltdb.BoltStore
	layer *layer
	trans *raft.NetworkTransport
	raft  *raft.Raft
	met   *metrics

	obsCh   chan raft.Observation
	obs     *raft.Observer
	obsDone chan struct{}

	stopCtx   func() bool
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// Start opens (or creates) a replica's state in o.Dir and joins the Raft
// group. It runs until ctx ends or Close.
func Start(ctx context.Context, o Options) (*Replica, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("catalogue directory: %w", err)
	}
	log := o.Logger.With("component", "topology")
	r := &Replica{o: o, id: o.Identity.NodeID, log: log, ident: o.Identity, fsm: newFSM(log), done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			r.release()
		}
	}()

	key := o.Key
	if key == nil {
		var err error
		if key, err = LoadOrCreateKey(filepath.Join(o.Dir, KeyFile)); err != nil {
			return nil, fmt.Errorf("catalogue: %w", err)
		}
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(o.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("open catalogue log %s: %w", filepath.Join(o.Dir, "raft.db"), err)
	}
	r.store = store
	if n, err := sealLog(store, key); err != nil {
		return nil, fmt.Errorf("seal catalogue log %s: %w", filepath.Join(o.Dir, "raft.db"), err)
	} else if n > 0 {
		log.Info("catalogue log entries written in clear by an older version sealed", "entries", n)
	}
	logs, err := raft.NewLogCache(256, &sealedLogs{LogStore: store, key: key})
	if err != nil {
		return nil, fmt.Errorf("catalogue log cache: %w", err)
	}
	if err := sealSnapshots(o.Dir, key, log); err != nil {
		return nil, fmt.Errorf("seal catalogue snapshots in %s: %w", o.Dir, err)
	}
	fsnaps, err := raft.NewFileSnapshotStoreWithLogger(o.Dir, 3, newHCLogger(log, "raft-snapshot"))
	if err != nil {
		return nil, fmt.Errorf("catalogue snapshots in %s: %w", o.Dir, err)
	}
	snaps := &sealedSnapshots{SnapshotStore: fsnaps, key: key}
	r.layer, err = newLayer(o.Listen, o.Advertise, o.Identity, log)
	if err != nil {
		return nil, err
	}
	r.layer.authorize = r.authorize
	r.layer.forward = r.serveForward
	r.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: r.layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: newHCLogger(log, "raft-net"),
	})

	cfg := raft.DefaultConfig()
	cfg.LocalID = raft.ServerID(r.id)
	cfg.HeartbeatTimeout = o.HeartbeatTimeout
	cfg.ElectionTimeout = o.ElectionTimeout
	cfg.LeaderLeaseTimeout = o.LeaderLeaseTimeout
	cfg.CommitTimeout = o.CommitTimeout
	cfg.SnapshotInterval = o.SnapshotInterval
	cfg.SnapshotThreshold = o.SnapshotThreshold
	cfg.TrailingLogs = o.TrailingLogs
	cfg.Logger = newHCLogger(log, "raft")
	cfg.NoLegacyTelemetry = true
	// a removed replica keeps running as a stray the members refuse, so an
	// operator can join it again without restarting the node
	cfg.ShutdownOnRemove = false
	if err := raft.ValidateConfig(cfg); err != nil {
		return nil, fmt.Errorf("catalogue raft settings: %w", err)
	}
	rf, err := raft.NewRaft(cfg, r.fsm, logs, store, snaps, r.trans)
	if err != nil {
		return nil, fmt.Errorf("start catalogue raft: %w", err)
	}
	r.raft = rf
	r.layer.start()

	r.obsCh = make(chan raft.Observation, 16)
	r.obs = raft.NewObserver(r.obsCh, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	rf.RegisterObserver(r.obs)
	r.obsDone = make(chan struct{})
	r.met = newMetrics(r, o.Registerer)
	go r.observe()

	if o.Bootstrap {
		err := r.bootstrap(o.Peers)
		if err != nil && CodeOf(err) != CodeConflict {
			return nil, err
		}
	}
	r.log.Info("catalogue replica started", "id", r.id, "raft", r.layer.advertise.String(), "dir", o.Dir)
	r.stopCtx = context.AfterFunc(ctx, func() { r.Close() })
	ok = true
	return r, nil
}

// ID is the replica's node ID.
func (r *Replica) ID() string { return r.id }

// Address is the Raft address other replicas dial.
func (r *Replica) Address() string { return r.layer.advertise.String() }

// ListenAddress is the bound address of the Raft port (port 0 resolved).
func (r *Replica) ListenAddress() string { return r.layer.ln.Addr().String() }

// Done is closed when the replica has stopped.
func (r *Replica) Done() <-chan struct{} { return r.done }

// Close leaves the Raft group (without changing membership) and closes the
// stores. Safe to call more than once.
func (r *Replica) Close() error {
	r.closeOnce.Do(func() {
		if r.stopCtx != nil {
			r.stopCtx()
		}
		r.closeErr = r.release()
		close(r.done)
	})
	return r.closeErr
}

// release stops whatever Start got running, in reverse order.
func (r *Replica) release() error {
	var errs []error
	r.fsm.close()
	if r.raft != nil {
		if err := r.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("stop catalogue raft: %w", err))
		}
		r.raft.DeregisterObserver(r.obs)
	}
	if r.obsDone != nil {
		close(r.obsCh)
		<-r.obsDone
	}
	if r.met != nil {
		r.met.unregister()
	}
	if r.trans != nil {
		r.trans.Close()
	}
	if r.layer != nil {
		r.layer.shutdown()
	}
	if r.store != nil {
		if err := r.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close catalogue log: %w", err))
		}
	}
	return errors.Join(errs...)
}

// observe logs and counts leader changes.
func (r *Replica) observe() {
	defer close(r.obsDone)
	for o := range r.obsCh {
		if lo, ok := o.Data.(raft.LeaderObservation); ok {
			r.met.leaderChanges.Inc()
			r.log.Info("catalogue leader", "leader", string(lo.LeaderID), "address", string(lo.LeaderAddr))
		}
	}
}

// authorize lets a verified federation peer speak Raft here: members, or
// anyone while this replica has no configuration yet (so that a leader can
// add it).
func (r *Replica) authorize(peer string) error {
	servers, err := r.members()
	if err != nil {
		return err
	}
	if len(servers) == 0 {
		return nil
	}
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == peer }) {
		return fmt.Errorf("node %s is not a replica of this catalogue", peer)
	}
	return nil
}

// isMember reports whether peer is in the Raft configuration.
func (r *Replica) isMember(peer string) error {
	servers, err := r.members()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == peer }) {
		return errorf(CodeForbidden, "node %s is not a replica of this catalogue", peer)
	}
	return nil
}

func (r *Replica) members() ([]raft.Server, error) {
	f := r.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, errorf(CodeUnavailable, "read catalogue membership: %v", err)
	}
	return f.Configuration().Servers, nil
}

// Bootstrap founds a new cluster of this replica and peers. It fails with
// CodeConflict when the replica already has state.
func (r *Replica) Bootstrap(peers []Peer) error {
	for _, p := range peers {
		if err := checkPeer(p); err != nil {
			return err
		}
	}
	return r.bootstrap(peers)
}

func (r *Replica) bootstrap(peers []Peer) error {
	servers := []raft.Server{{ID: raft.ServerID(r.id), Address: raft.ServerAddress(r.Address()), Suffrage: raft.Voter}}
	for _, p := range peers {
		if p.ID != r.id {
			servers = append(servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address), Suffrage: raft.Voter})
		}
	}
	err := r.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		return conflictf("this replica already belongs to a catalogue cluster; bootstrap founds a new one only once")
	}
	if err != nil {
		return fmt.Errorf("bootstrap catalogue: %w", err)
	}
	r.log.Info("catalogue bootstrapped", "servers", len(servers))
	return nil
}

// Catalogue returns the replica's current catalogue. It may lag the
// leader by the replication delay; see ConsistentCatalogue.
func (r *Replica) Catalogue() *Catalogue { return r.fsm.catalogue() }

// ConsistentCatalogue returns a catalogue that includes every write
// acknowledged before the call (a linearizable read): the leader confirms
// its leadership through the log, and this replica waits until it has
// applied as far.
func (r *Replica) ConsistentCatalogue(ctx context.Context) (*Catalogue, error) {
	rev, err := r.submit(ctx, fwdRequest{Op: opReadIndex})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.o.ApplyTimeout)
	defer cancel()
	return r.fsm.waitRevision(ctx, rev)
}

// Watch returns a channel of changes, closed when ctx ends or the replica
// closes. A watcher that falls behind by more than 64 changes loses the
// oldest ones and sees Missed on the next.
func (r *Replica) Watch(ctx context.Context) <-chan Change { return r.fsm.watch(ctx) }

// WaitRevision blocks until this replica has applied rev.
func (r *Replica) WaitRevision(ctx context.Context, rev uint64) (*Catalogue, error) {
	return r.fsm.waitRevision(ctx, rev)
}

// SliceFor returns what node needs of the current catalogue.
func (r *Replica) SliceFor(node string) (*Slice, error) { return r.Catalogue().SliceFor(node) }

// Apply makes a change through the leader and returns its revision once it
// is committed by a quorum and applied here. Errors carry a Code.
func (r *Replica) Apply(ctx context.Context, cmd Command) (uint64, error) {
	start := time.Now()
	rev, forwarded, err := r.apply(ctx, cmd)
	r.met.observeWrite(start, forwarded, err)
	return rev, err
}

func (r *Replica) apply(ctx context.Context, cmd Command) (uint64, bool, error) {
	data, err := EncodeCommand(cmd)
	if err != nil {
		return 0, false, err
	}
	forwarded := r.raft.State() != raft.Leader
	rev, err := r.submit(ctx, fwdRequest{Op: opApply, Command: data})
	if err != nil {
		return 0, forwarded, err
	}
	// read-your-writes on this replica: a follower answers once it has the
	// change too (bounded: the change is committed either way)
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, _ = r.fsm.waitRevision(wctx, rev)
	return rev, forwarded, nil
}

// Join adds a voting replica (through the leader).
func (r *Replica) Join(ctx context.Context, p Peer) error {
	if err := checkPeer(p); err != nil {
		return err
	}
	_, err := r.submit(ctx, fwdRequest{Op: opJoin, ID: p.ID, Address: p.Address})
	return err
}

// Remove takes a replica out of the group (through the leader).
func (r *Replica) Remove(ctx context.Context, id string) error {
	if err := checkID("member id", id); err != nil {
		return err
	}
	_, err := r.submit(ctx, fwdRequest{Op: opRemove, ID: id})
	return err
}

// Snapshot takes a snapshot now (it also happens on its own).
func (r *Replica) Snapshot() error {
	err := r.raft.Snapshot().Error()
	if err != nil && !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return fmt.Errorf("catalogue snapshot: %w", err)
	}
	return nil
}

// submit runs req on the leader, here or forwarded, waiting for a leader
// while there is none (an election), within ApplyTimeout.
func (r *Replica) submit(ctx context.Context, req fwdRequest) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.ApplyTimeout)
	defer cancel()
	retryable := req.Op == opReadIndex
	var last error
	for {
		select {
		case <-r.done:
			return 0, errorf(CodeUnavailable, "catalogue replica %s is closed", r.id)
		default:
		}
		if r.raft.State() == raft.Leader {
			resp := r.leaderDo(ctx, req)
			if resp.Code != codeNotLeader {
				return resp.Revision, resp.err()
			}
			last = resp.err()
		} else if addr, id := r.raft.LeaderWithID(); addr != "" && string(id) != r.id {
			resp, err := r.forward(ctx, string(addr), req)
			switch {
			case err == nil && resp.Code != codeNotLeader:
				return resp.Revision, resp.err()
			case err == nil:
				last = resp.err()
			case errors.Is(err, errNotDelivered) || retryable:
				last = err
			default:
				return 0, errorf(CodeUnknownOutcome, "lost the catalogue leader %s while it handled the request (%v); it may or may not have been applied: read the catalogue before retrying", id, err)
			}
		}
		select {
		case <-ctx.Done():
			msg := "no catalogue leader (an election is under way or a quorum of replicas is down)"
			if last != nil {
				msg += ": " + last.Error()
			}
			return 0, errorf(CodeUnavailable, "%s", msg)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// leaderDo runs req on this replica as leader; codeNotLeader when it is not.
func (r *Replica) leaderDo(ctx context.Context, req fwdRequest) fwdResponse {
	timeout := r.o.ApplyTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	switch req.Op {
	case opApply:
		if _, err := DecodeCommand(req.Command); err != nil {
			return responseOf(0, err)
		}
		f := r.raft.Apply(req.Command, timeout)
		if err := f.Error(); err != nil {
			return raftFailure(err)
		}
		res, _ := f.Response().(applyResult)
		return responseOf(res.rev, res.err)
	case opReadIndex:
		if err := r.raft.Barrier(timeout).Error(); err != nil {
			if errors.Is(err, raft.ErrLeadershipLost) {
				return fwdResponse{Code: codeNotLeader, Error: err.Error()}
			}
			return raftFailure(err)
		}
		return fwdResponse{Revision: r.fsm.catalogue().revision}
	case opJoin:
		if err := r.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.Address), 0, timeout).Error(); err != nil {
			return raftFailure(err)
		}
		r.log.Info("catalogue replica joined", "id", req.ID, "address", req.Address)
		return fwdResponse{}
	case opRemove:
		if err := r.isMember(req.ID); err != nil {
			if CodeOf(err) == CodeForbidden {
				err = notFoundf("%s is not a replica of this catalogue", req.ID)
			}
			return responseOf(0, err)
		}
		if err := r.raft.RemoveServer(raft.ServerID(req.ID), 0, timeout).Error(); err != nil {
			return raftFailure(err)
		}
		r.log.Info("catalogue replica removed", "id", req.ID)
		return fwdResponse{}
	}
	return responseOf(0, invalidf("unknown operation %q", req.Op))
}

// raftFailure says what a Raft error means to the caller: whether the
// change surely did not happen (retry elsewhere) or may have.
func raftFailure(err error) fwdResponse {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fwdResponse{Code: codeNotLeader, Error: err.Error()}
	case errors.Is(err, raft.ErrLeadershipLost):
		return fwdResponse{Code: CodeUnknownOutcome, Error: "the catalogue leader lost its leadership while committing the change; it may or may not have been applied: read the catalogue before retrying"}
	case errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrAbortedByRestore):
		return fwdResponse{Code: CodeUnavailable, Error: "catalogue leader unavailable: " + err.Error()}
	}
	return fwdResponse{Code: CodeUnavailable, Error: err.Error()}
}
