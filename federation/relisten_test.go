package federation

import (
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// A parent that stops can listen again on its address at once, with its
// children still trying to link: the address is released when Run
// returns, not when the last child's link times out (a node restarted in
// place, or a test's parent brought back after an outage, found it taken).
func TestServerReleasesItsAddress(t *testing.T) {
	ca := newPKI(t)
	parentID, _ := ca.identity("centre", time.Time{}, time.Hour)
	childID, _ := ca.identity("site", time.Time{}, time.Hour)
	addr := testkit.Port(t)
	listen := func() *Server {
		t.Helper()
		srv, err := Listen(ServerOptions{Listen: addr, Identity: parentID, Log: openLog(t, "centre"), MaySpeakFor: testSubtree})
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	stop := serve(t, listen())
	cl, _ := startClient(t, childID, openLog(t, "site"), addr)
	testkit.WaitFor(t, 10*time.Second, "link up", func() bool { return cl.Status().Connected })
	stop()
	serve(t, listen())
	testkit.WaitFor(t, 10*time.Second, "the child linked to the parent started again", func() bool { return cl.Status().Connected })

}
