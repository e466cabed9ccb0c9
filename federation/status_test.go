package federation

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A child that answers a status question for another node than asked is
// not believed.
func TestStatusNamesTheNodeAsked(t *testing.T) {
	ca := newPKI(t)
	parentID, _ := ca.identity("region", time.Time{}, time.Hour)
	childID, _ := ca.identity("site", time.Time{}, time.Hour)
	srv := startServer(t, parentID, openLog(t, "region"), nil)
	var lie atomic.Bool
	cl := streamTestClient(t, ClientOptions{Upstream: []string{srv.Addr()}, Identity: childID, Log: openLog(t, "site"),
		Status: func(_ context.Context, origin string) (NodeStatus, error) {
			if lie.Load() {
				return NodeStatus{Node: "site-b"}, nil
			}
			return NodeStatus{Node: origin}, nil
		}})
	link := watchLink(t, srv, cl, "site")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := srv.FetchStatus(ctx, "site"); err != nil || st.Node != "site" {
		t.Fatalf("status: %+v %v", st, err)
	}
	lie.Store(true)
	if st, err := srv.FetchStatus(ctx, "site"); err == nil || !strings.Contains(err.Error(), `names node "site-b"`) {
		t.Fatalf("a status for another node believed: %+v %v", st, err)
	}
	if _, err := srv.FetchStatus(ctx, "nowhere"); err == nil {
		t.Fatal("a status of a node no link leads to")
	}
	link.check(t, srv, cl, "site")
}
