package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The catalogues the parents check children against: a parent refuses
// events of origins a child may not speak for, so they must describe the
// tree exactly.
//
// The region tier's three replicas share one Raft catalogue: the replicas
// themselves (tier region-a: they stand in for each other), the site under
// region-a1 and its camera. The centre's single-replica catalogue: the
// centre, the three replicas (tier region-a, parent centre) and the site
// under region-a1.

func (c *cluster) regionCatalogue(withTier bool) string {
	var b strings.Builder
	b.WriteString("# region-a catalogue (written by the fault harness)\nnodes:\n")
	for i, r := range regionIDs {
		fmt.Fprintf(&b, "  - {id: %s, role: region, %sname: \"Region A replica %d\", addresses: [%q]}\n",
			r, tierField(withTier), i+1, c.relay[linkName(siteID, r)].Addr())
	}
	fmt.Fprintf(&b, "  - {id: %s, role: site, parent: %s, name: \"Fault harness site\"}\n", siteID, regionIDs[0])
	fmt.Fprintf(&b, "cameras:\n  - {id: %s, site: %s, url: %q, transport: tcp}\n", cameraID, siteID, c.cam.URL("cam1"))
	fmt.Fprintf(&b, "policies:\n  - {node: %s, fragments: all}\n", siteID)
	return b.String()
}

func (c *cluster) centreCatalogue(withTier bool) string {
	var b strings.Builder
	b.WriteString("# centre catalogue (written by the fault harness)\nnodes:\n")
	// no addresses for the centre: a child would add them to its upstream
	// list and go round its relay
	fmt.Fprintf(&b, "  - {id: %s, role: centre, name: \"Fault harness centre\"}\n", centreID)
	for i, r := range regionIDs {
		fmt.Fprintf(&b, "  - {id: %s, role: region, %sparent: %s, name: \"Region A replica %d\"}\n", r, tierField(withTier), centreID, i+1)
	}
	fmt.Fprintf(&b, "  - {id: %s, role: site, parent: %s, name: \"Fault harness site\"}\n", siteID, regionIDs[0])
	b.WriteString("policies:\n")
	for _, r := range append(append([]string(nil), regionIDs...), siteID) {
		fmt.Fprintf(&b, "  - {node: %s, fragments: all}\n", r)
	}
	return b.String()
}

func tierField(on bool) string {
	if on {
		return "tier: " + tierID + ", "
	}
	return ""
}

var unknownTier = regexp.MustCompile(`unknown field "tier"`)

// applyCatalogue waits for n's catalogue to have a leader and applies the
// YAML with `kuzet topology apply`. A node that does not know the tier
// field yet gets the catalogue without it, and the report says so.
func (c *cluster) applyCatalogue(ctx context.Context, n *node, name string, yaml func(withTier bool) string) error {
	var leader string
	if !waitFor(60*time.Second, func() bool {
		l, err := n.api.raftLeader(ctx)
		leader = l
		return err == nil && l != ""
	}) {
		return fmt.Errorf("%s catalogue (at %s): %w within 60s", name, n.id, errNoLeader)
	}
	tok, err := n.api.Token(ctx)
	if err != nil {
		return fmt.Errorf("%s catalogue: log in at %s: %w", name, n.id, err)
	}
	withTier := true
	for attempt := 1; ; attempt++ {
		file := filepath.Join(c.root, "conf", name+"-catalogue.yaml")
		if err := os.WriteFile(file, []byte(yaml(withTier)), 0o644); err != nil {
			return err
		}
		out, err := c.cli(60*time.Second, "", "topology", "apply", file, "--api", n.api.base, "--token", tok, "--timeout", "30s")
		if err == nil {
			c.t.Logf("%s catalogue applied at %s (leader %s): %s", name, n.id, leader, lastLine(out))
			return nil
		}
		if withTier && unknownTier.MatchString(out) {
			c.note("the %s catalogue was applied WITHOUT `tier: %s` on the region replicas: this binary refuses the field (%s). "+
				"Parents that need the tier to let a replica speak for its siblings' children will refuse events until it exists.",
				name, tierID, lastLine(out))
			withTier = false
			continue
		}
		if attempt >= 5 {
			return fmt.Errorf("kuzet topology apply %s at %s: %v\n%s", file, n.id, err, out)
		}
		time.Sleep(2 * time.Second)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
