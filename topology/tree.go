package topology

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
)

// Tree is the hierarchy as people read it: centre, regions, sites and
// their cameras. Camera URLs have their passwords hidden.
type Tree struct {
	Revision uint64      `json:"revision"`
	Roots    []*TreeNode `json:"roots"`
}

// TreeNode is one node with its cameras and children.
type TreeNode struct {
	ID        string       `json:"id"`
	Role      string       `json:"role"`
	Name      string       `json:"name,omitempty"`
	Status    string       `json:"status,omitempty"` // from the caller: liveness is not in the catalogue
	Revoked   bool         `json:"revoked,omitempty"`
	Addresses []string     `json:"addresses,omitempty"`
	Policy    *Policy      `json:"policy,omitempty"`
	Cameras   []TreeCamera `json:"cameras,omitempty"`
	Children  []*TreeNode  `json:"children,omitempty"`
}

// TreeCamera is a camera as the tree shows it.
type TreeCamera struct {
	ID            string  `json:"id"`
	Name          string  `json:"name,omitempty"`
	URL           string  `json:"url"` // password hidden
	Transport     string  `json:"transport"`
	Direction     string  `json:"direction"`
	Zone          string  `json:"zone,omitempty"`
	RetentionDays int     `json:"retention_days,omitempty"`
	Disabled      bool    `json:"disabled,omitempty"`
	ANPR          bool    `json:"anpr,omitempty"`
	ANPRFPS       float64 `json:"anpr_fps,omitempty"`
}

// BuildTree arranges the catalogue as a tree. status maps node IDs to a
// word such as up or down (nil: none shown).
func BuildTree(c *Catalogue, status map[string]string) Tree {
	byID := map[string]*TreeNode{}
	for _, n := range c.Nodes() {
		tn := &TreeNode{ID: n.ID, Role: n.Role, Name: n.Name, Status: status[n.ID], Revoked: n.Revoked, Addresses: n.Addresses}
		if p, ok := c.policies[n.ID]; ok {
			tn.Policy = &p
		}
		for _, cam := range c.CamerasOf(n.ID) {
			tn.Cameras = append(tn.Cameras, TreeCamera{
				ID: cam.ID, Name: cam.Name, URL: redactURL(cam.URL), Transport: cam.Transport,
				Direction: cam.Direction, Zone: cam.Zone, RetentionDays: cam.RetentionDays, Disabled: cam.Disabled,
				ANPR: cam.Analytics.ANPR.Enabled, ANPRFPS: cam.Analytics.ANPR.FPS,
			})
		}
		byID[n.ID] = tn
	}
	t := Tree{Revision: c.revision, Roots: []*TreeNode{}}
	for _, n := range c.Nodes() {
		tn := byID[n.ID]
		if p, ok := byID[n.Parent]; ok {
			p.Children = append(p.Children, tn)
		} else {
			t.Roots = append(t.Roots, tn)
		}
	}
	// higher tiers first, then by ID
	order := func(a, b *TreeNode) int {
		return cmp.Or(cmp.Compare(roleRank(b.Role), roleRank(a.Role)), cmp.Compare(a.ID, b.ID))
	}
	slices.SortFunc(t.Roots, order)
	for _, tn := range byID {
		slices.SortFunc(tn.Children, order)
	}
	return t
}

// redactURL hides a camera password for display.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Render writes the tree as text (`kuzet topology show`).
func (t Tree) Render(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "catalogue revision %d\n", t.Revision)
	if len(t.Roots) == 0 {
		fmt.Fprintln(bw, "(empty)")
	}
	for _, r := range t.Roots {
		renderNode(bw, r, "", "")
	}
	return bw.Flush()
}

func renderNode(w io.Writer, n *TreeNode, first, rest string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s (%s)", first, n.ID, n.Role)
	if n.Name != "" {
		fmt.Fprintf(&b, " %q", n.Name)
	}
	if n.Status != "" {
		fmt.Fprintf(&b, "  %s", n.Status)
	}
	if n.Revoked {
		b.WriteString("  REVOKED")
	}
	if p := n.Policy; p != nil {
		fmt.Fprintf(&b, "  fragments %s", p.Fragments)
		if p.Mbps > 0 {
			fmt.Fprintf(&b, ", %g Mbit/s", p.Mbps)
		}
		if p.TotalMbps > 0 {
			fmt.Fprintf(&b, ", children %g Mbit/s total", p.TotalMbps)
		}
	}
	if len(n.Addresses) > 0 {
		fmt.Fprintf(&b, "  [%s]", strings.Join(n.Addresses, " "))
	}
	fmt.Fprintln(w, b.String())
	items := len(n.Cameras) + len(n.Children)
	i := 0
	branch := func() (string, string) {
		i++
		if i == items {
			return rest + "└─ ", rest + "   "
		}
		return rest + "├─ ", rest + "│  "
	}
	for _, c := range n.Cameras {
		f, _ := branch()
		fmt.Fprintf(w, "%scamera %s  %s  %s %s", f, c.ID, c.URL, c.Transport, c.Direction)
		if c.Zone != "" {
			fmt.Fprintf(w, "  zone %s", c.Zone)
		}
		if c.ANPR {
			fmt.Fprintf(w, "  anpr %g fps", c.ANPRFPS)
		}
		if c.RetentionDays > 0 {
			fmt.Fprintf(w, "  %d days", c.RetentionDays)
		}
		if c.Disabled {
			fmt.Fprint(w, "  disabled")
		}
		fmt.Fprintln(w)
	}
	for _, ch := range n.Children {
		f, r := branch()
		renderNode(w, ch, f, r)
	}
}
