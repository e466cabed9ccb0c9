package topology

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
)

// testPKI is a federation CA that issues node identities on demand.
type testPKI struct {
	dir string
	mu  sync.Mutex
	ids map[string]*pki.Identity
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	if err := pki.InitCA(dir, "test federation", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return &testPKI{dir: dir, ids: map[string]*pki.Identity{}}
}

func (p *testPKI) identity(t *testing.T, id string) *pki.Identity {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if ident, ok := p.ids[id]; ok {
		return ident
	}
	iss, err := pki.IssueNode(p.dir, id, p.dir, time.Time{}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := pki.LoadIdentity(filepath.Join(p.dir, pki.CACertFile), iss.CertPath, iss.KeyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.ids[id] = ident
	return ident
}

// testLogger writes replica logs to the test log when KUZET_TEST_LOG is set.
func testLogger(t *testing.T, id string) *slog.Logger {
	if os.Getenv("KUZET_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", id)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// startReplica starts a replica on a loopback port, closed at the end of
// the test.
func startReplica(t *testing.T, pki *testPKI, id, dir string, mod func(*Options)) *Replica {
	t.Helper()
	o := Options{Identity: pki.identity(t, id), Dir: dir, Listen: "127.0.0.1:0", Logger: testLogger(t, id)}
	if mod != nil {
		mod(&o)
	}
	r, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// startCluster bootstraps the first replica and joins the others to it.
func startCluster(t *testing.T, pki *testPKI, ids ...string) []*Replica {
	t.Helper()
	var reps []*Replica
	for i, id := range ids {
		reps = append(reps, startReplica(t, pki, id, t.TempDir(), func(o *Options) { o.Bootstrap = i == 0 }))
	}
	waitLeader(t, reps[:1]...)
	for _, r := range reps[1:] {
		retry(t, "join "+r.ID(), func(ctx context.Context) error {
			return reps[0].Join(ctx, Peer{ID: r.ID(), Address: r.Address()})
		})
	}
	testkit.WaitFor(t, 30*time.Second, "every replica to know the leader and all members", func() bool {
		for _, r := range reps {
			st := r.Status()
			if st.Leader == "" || len(st.Members) != len(reps) {
				return false
			}
		}
		return true
	})
	return reps
}

// waitLeader waits until one of reps leads and the others agree.
func waitLeader(t *testing.T, reps ...*Replica) *Replica {
	t.Helper()
	var leader *Replica
	testkit.WaitFor(t, 30*time.Second, "a leader", func() bool {
		leader = nil
		for _, r := range reps {
			if r.Status().State == "leader" {
				leader = r
			}
		}
		if leader == nil {
			return false
		}
		for _, r := range reps {
			if r.Status().Leader != leader.ID() {
				return false
			}
		}
		return true
	})
	return leader
}

func followers(reps []*Replica, leader *Replica) []*Replica {
	var out []*Replica
	for _, r := range reps {
		if r != leader {
			out = append(out, r)
		}
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// retry runs an idempotent operation until it succeeds, riding out
// elections (a loaded machine may depose a leader now and then).
func retry(t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := f(ctx)
		cancel()
		if err == nil {
			return
		}
		if c := CodeOf(err); (c != CodeUnavailable && c != CodeUnknownOutcome) || time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// applyR applies an idempotent change, retrying through elections.
func applyR(t *testing.T, r *Replica, cmd Command) uint64 {
	t.Helper()
	var rev uint64
	retry(t, string(cmd.Type), func(ctx context.Context) error {
		var err error
		rev, err = r.Apply(ctx, cmd)
		return err
	})
	return rev
}
