package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kuzet/kuzet/topology"
)

// topologyUsage describes `kuzet topology`.
const topologyUsage = `usage: kuzet topology COMMAND [--api URL] [--timeout D] ...

  bootstrap [--peer ID=HOST:PORT ...]   found a new catalogue cluster on the node (once)
  join ID HOST:PORT                     add a replica (its Raft address)
  remove ID                             take a replica out
  status [--json]                       Raft state, leader, members
  show [--json] [--consistent]          the tree: centre, regions, sites, cameras
  apply FILE                            upsert the records in a YAML or JSON file (- for stdin):
                                        nodes, zones, cameras, users, policies
  delete KIND ID                        KIND: node, camera (ID is SITE/ID), zone, user, policy
  export [--consistent]                 every record as JSON (password hashes left out)

--api is the node's HTTP address (default $KUZET_API or http://127.0.0.1:8080).
`

// cmdTopology runs `kuzet topology ARGS...` against a node's HTTP API.
func cmdTopology(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, topologyUsage)
		if len(args) == 0 {
			return errors.New("topology: missing command")
		}
		return nil
	}
	cmd := args[0]
	fs := flag.NewFlagSet("kuzet topology "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	api, token := apiFlags(fs, "node HTTP address")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after")
	asJSON := fs.Bool("json", false, "print JSON")
	consistent := fs.Bool("consistent", false, "linearizable read through the leader")
	var peers []topology.Peer
	fs.Func("peer", "a founding replica ID=HOST:PORT (repeat)", func(s string) error {
		id, addr, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("want ID=HOST:PORT, got %q", s)
		}
		peers = append(peers, topology.Peer{ID: id, Address: addr})
		return nil
	})
	rest, err := parseAnywhere(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return err
	} else if err != nil {
		return fmt.Errorf("topology %s: %w", cmd, err)
	}
	c, err := topology.NewClient(*api, nil)
	if err != nil {
		return fmt.Errorf("topology: %w", err)
	}
	c.Token = *token
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	want := func(n int, usage string) error {
		if len(rest) != n {
			return fmt.Errorf("topology %s: usage: kuzet topology %s %s", cmd, cmd, usage)
		}
		return nil
	}
	switch cmd {
	case "bootstrap":
		if err := want(0, "[--peer ID=HOST:PORT ...]"); err != nil {
			return err
		}
		st, err := c.Bootstrap(ctx, peers)
		if err != nil {
			return fmt.Errorf("topology bootstrap: %w", err)
		}
		return printStatus(stdout, st, *asJSON)
	case "join":
		if err := want(2, "ID HOST:PORT"); err != nil {
			return err
		}
		st, err := c.Join(ctx, topology.Peer{ID: rest[0], Address: rest[1]})
		if err != nil {
			return fmt.Errorf("topology join %s: %w", rest[0], err)
		}
		return printStatus(stdout, st, *asJSON)
	case "remove":
		if err := want(1, "ID"); err != nil {
			return err
		}
		st, err := c.Remove(ctx, rest[0])
		if err != nil {
			return fmt.Errorf("topology remove %s: %w", rest[0], err)
		}
		return printStatus(stdout, st, *asJSON)
	case "status":
		if err := want(0, "[--json]"); err != nil {
			return err
		}
		st, err := c.Status(ctx)
		if err != nil {
			return fmt.Errorf("topology status: %w", err)
		}
		return printStatus(stdout, st, *asJSON)
	case "show":
		if err := want(0, "[--json] [--consistent]"); err != nil {
			return err
		}
		t, err := c.Tree(ctx, *consistent)
		if err != nil {
			return fmt.Errorf("topology show: %w", err)
		}
		if *asJSON {
			return printJSON(stdout, t)
		}
		return t.Render(stdout)
	case "export":
		if err := want(0, "[--consistent]"); err != nil {
			return err
		}
		ct, err := c.Catalogue(ctx, *consistent)
		if err != nil {
			return fmt.Errorf("topology export: %w", err)
		}
		return printJSON(stdout, ct)
	case "apply":
		if err := want(1, "FILE"); err != nil {
			return err
		}
		return applyFile(ctx, c, rest[0], stdout)
	case "delete":
		if err := want(2, "KIND ID"); err != nil {
			return err
		}
		kind, ok := map[string]string{"node": topology.KindNodes, "camera": topology.KindCameras, "zone": topology.KindZones, "user": topology.KindUsers, "policy": topology.KindPolicies}[strings.TrimSuffix(rest[0], "s")]
		if !ok && rest[0] == "policies" {
			kind, ok = topology.KindPolicies, true
		}
		if !ok {
			return fmt.Errorf("topology delete: unknown kind %q (node, camera, zone, user, policy)", rest[0])
		}
		if kind == topology.KindCameras && strings.Count(rest[1], "/") != 1 {
			return fmt.Errorf("topology delete camera: give SITE/ID (got %q)", rest[1])
		}
		rev, err := c.Delete(ctx, kind, rest[1])
		if err != nil {
			return fmt.Errorf("topology delete %s %s: %w", rest[0], rest[1], err)
		}
		fmt.Fprintf(stdout, "deleted %s %s (revision %d)\n", singular(kind), rest[1], rev)
		return nil
	}
	fmt.Fprint(stderr, topologyUsage)
	return fmt.Errorf("topology: unknown command %q", cmd)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printStatus(w io.Writer, st topology.Status, asJSON bool) error {
	if asJSON {
		return printJSON(w, st)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "replica\t%s\t%s\t%s, term %d\n", st.ID, st.Address, st.State, st.Term)
	leader := st.Leader
	if leader == "" {
		leader = "(none: election under way or no quorum)"
	}
	fmt.Fprintf(tw, "leader\t%s\t%s\t\n", leader, st.LeaderAddress)
	fmt.Fprintf(tw, "revision\t%d\tcommit %d, applied %d, last %d\t\n", st.Revision, st.CommitIndex, st.AppliedIndex, st.LastIndex)
	fmt.Fprintf(tw, "members\t%d\t\t\n", len(st.Members))
	for _, m := range st.Members {
		role := m.Suffrage
		if m.Leader {
			role += ", leader"
		}
		fmt.Fprintf(tw, "\t%s\t%s\t%s\n", m.ID, m.Address, role)
	}
	return tw.Flush()
}

// maxApplyBytes bounds a records file read from stdin: a whole catalogue
// snapshot fits.
const maxApplyBytes = 256 << 20

func applyFile(ctx context.Context, c *topology.Client, path string, out io.Writer) error {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, maxApplyBytes))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return fmt.Errorf("topology apply: %w", err)
	}
	f, err := topology.ParseApplyFile(b)
	if err != nil {
		return fmt.Errorf("topology apply %s: %w", path, err)
	}
	items := f.Records()
	for _, it := range items {
		rev, err := c.Put(ctx, it.Kind, it.Record, false)
		if err != nil {
			return fmt.Errorf("topology apply %s: %s %s: %w", path, singular(it.Kind), it.ID, err)
		}
		fmt.Fprintf(out, "put %s %s (revision %d)\n", singular(it.Kind), it.ID, rev)
	}
	fmt.Fprintf(out, "%d records applied\n", len(items))
	return nil
}

func singular(kind string) string {
	if kind == topology.KindPolicies {
		return "policy"
	}
	return strings.TrimSuffix(kind, "s")
}
