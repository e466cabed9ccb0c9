package web_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/web"
)

// startNode runs a node from its configuration until the test ends (or
// ctx does), and reports how it stopped.
func startNode(t *testing.T, ctx context.Context, yaml string) *agent.Agent {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(cfg, slog.New(slog.DiscardHandler), agent.Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("node stopped with %v", err)
		}
	})
	return a
}

// browserRig is what a browser test runs with: the module root, node and
// Chromium (the test fails naming the install command when one is missing).
type browserRig struct{ root, node, chromium string }

// newBrowserRig checks the tools and bounds the test to three minutes.
func newBrowserRig(t *testing.T) (context.Context, browserRig) {
	t.Helper()
	testkit.Long(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	node, chromium := web.RequireTools(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx, browserRig{root: root, node: node, chromium: chromium}
}

// run runs web/e2e/NAME.mjs in headless Chromium against base, its
// screenshots in test-artifacts/ui-NAME, and returns its output; a failed
// scenario fails the test with it.
func (b browserRig) run(t *testing.T, ctx context.Context, name, base string, env ...string) []byte {
	t.Helper()
	shots := filepath.Join(b.root, "test-artifacts", "ui-"+name)
	_ = os.RemoveAll(shots)
	run := exec.CommandContext(ctx, b.node, filepath.Join("e2e", name+".mjs"))
	run.Env = append(append(os.Environ(), "KUZET_UI_URL="+base, "KUZET_UI_SHOTS="+shots, "KUZET_CHROMIUM="+b.chromium), env...)
	run.WaitDelay = 10 * time.Second
	out, err := run.CombinedOutput()
	t.Logf("node e2e/%s.mjs:\n%s", name, out)
	if err != nil {
		t.Fatalf("browser scenario failed (%v); screenshots in %s", err, shots)
	}
	return out
}
