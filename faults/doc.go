// Package faults is the fault harness. Its test, TestFaults,
// runs a site, three region replicas and a centre as real `kuzet run`
// processes, with internal/netfault relays on every child-to-parent link,
// plays a seeded schedule of SIGKILL, SIGSTOP/SIGCONT, disk loss of a
// region replica, link cuts, packet loss and delay, lets the tree settle,
// and then checks the invariants: every event of every origin at the
// centre exactly once, in order, without gaps; every segment
// byte-identical at every tier; intact audit chains; empty backlogs.
//
//	make faults                          # 10 minutes of faults
//	FAULTS_DURATION=1h make faults       # the soak
//	FAULTS_SEED=42 make faults           # the same schedule again
//
// `go test ./faults` (and so `make test`) runs it at the short setting,
// about 90 seconds of faults and settling. See faults/README.md.
//
// It imports no kuzet package besides the test kit: it drives the binary
// from outside, as an operator's faults would.
package faults
