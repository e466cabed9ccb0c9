package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/kuzet/kuzet/topology"
)

// runReplica is -role replica: catalogue replica centre-2 or centre-3,
// a Raft follower of the group centre-1 founds, in a process of its own
// as on its own server. It holds the catalogue only: the regions link to
// centre-1, and this bench measures that one's federation work.
func runReplica(pkiDir, stateDir, id string) int {
	ident, err := loadIdentity(pkiDir, id)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", id, err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer cancel()
	rep, err := topology.Start(ctx, topology.Options{Identity: ident, Dir: filepath.Join(stateDir, "topology"), Listen: "127.0.0.1:0", Logger: roleLogger()})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", id, err)
		return 1
	}
	defer rep.Close()
	ready("raft=%s", rep.Address())
	go func() {
		serveCommands(func(cmd string, _ []string) (any, error) {
			if cmd == "catalogue" {
				return rep.Status(), nil
			}
			return nil, errUnknownCommand
		})
		cancel()
	}()
	<-ctx.Done()
	return 0
}
