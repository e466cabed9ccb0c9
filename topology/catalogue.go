package topology

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Catalogue is one revision of the catalogue. It never changes once built:
// a change makes a new Catalogue that shares the untouched maps, so readers
// hold one without locks and without copying. Accessors return copies.
type Catalogue struct {
	revision uint64
	nodes    map[string]Node
	cameras  map[string]Camera // by site/id
	zones    map[string]Zone
	users    map[string]User
	policies map[string]Policy // by node
	// building: maps are changed in place (fromContents, before anyone
	// else can see the catalogue)
	building bool
}

func emptyCatalogue() *Catalogue {
	return &Catalogue{
		nodes: map[string]Node{}, cameras: map[string]Camera{}, zones: map[string]Zone{},
		users: map[string]User{}, policies: map[string]Policy{},
	}
}

// Revision is the Raft index of the last change applied (0: empty).
func (c *Catalogue) Revision() uint64 { return c.revision }

// Node returns one node.
func (c *Catalogue) Node(id string) (Node, bool) {
	n, ok := c.nodes[id]
	return n.clone(), ok
}

// Nodes returns every node, by ID.
func (c *Catalogue) Nodes() []Node { return sortedValues(c.nodes, Node.clone) }

// Children returns the nodes whose parent is id, by ID.
func (c *Catalogue) Children(id string) []Node {
	var out []Node
	for _, k := range slices.Sorted(maps.Keys(c.nodes)) {
		if n := c.nodes[k]; n.Parent == id {
			out = append(out, n.clone())
		}
	}
	return out
}

// Tier returns the replicas of node's parent tier, by ID: node itself and
// every node of the same role and parent that shares its non-empty tier.
// A node without a tier stands alone; an unknown node has none.
func (c *Catalogue) Tier(node string) []string {
	n, ok := c.nodes[node]
	if !ok {
		return nil
	}
	if n.Tier == "" {
		return []string{node}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(c.nodes)) {
		if sameTier(n, c.nodes[k]) {
			out = append(out, k)
		}
	}
	return out
}

// sameTier reports whether b stands in for a: a itself, or a replica of
// a's tier. Members must share role and parent too, so a tier name given
// to a node elsewhere in the tree lends it nothing.
func sameTier(a, b Node) bool {
	return a.ID == b.ID || a.Tier != "" && b.Tier == a.Tier && b.Role == a.Role && b.Parent == a.Parent
}

// MaySpeakFor reports whether events of origin may arrive over child's
// link: origin is child itself, or a descendant of child or of any replica
// of child's tier (the descendants of a dead replica fail over to its
// peers). An origin the catalogue does not know is refused.
func (c *Catalogue) MaySpeakFor(child, origin string) bool {
	if origin == child {
		return true
	}
	ch, ok := c.nodes[child]
	if !ok {
		return false
	}
	o, ok := c.nodes[origin]
	if !ok {
		return false
	}
	// ranks fall down the tree so there is no cycle, but bound the walk
	// anyway: a catalogue is data from elsewhere
	for range len(c.nodes) {
		if o.Parent == "" {
			return false
		}
		p, ok := c.nodes[o.Parent]
		if !ok {
			return false
		}
		if sameTier(ch, p) {
			return true
		}
		o = p
	}
	return false
}

// Subtree lists, by ID, every node MaySpeakFor allows over node's link
// besides node itself: the descendants of node and of the other replicas
// of its tier. It is empty for a leaf and for an unknown node.
func (c *Catalogue) Subtree(node string) []string {
	top := c.Tier(node)
	if len(top) == 0 {
		return nil
	}
	children := map[string][]string{}
	for id, n := range c.nodes {
		if n.Parent != "" {
			children[n.Parent] = append(children[n.Parent], id)
		}
	}
	seen := map[string]bool{}
	for _, id := range top {
		seen[id] = true
	}
	var out []string
	queue := slices.Clone(top)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, ch := range children[id] {
			if !seen[ch] {
				seen[ch] = true
				out = append(out, ch)
				queue = append(queue, ch)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Camera returns camera id of site.
func (c *Catalogue) Camera(site, id string) (Camera, bool) {
	cam, ok := c.cameras[CameraKey(site, id)]
	return cam.clone(), ok
}

// Cameras returns every camera, by site then ID.
func (c *Catalogue) Cameras() []Camera { return sortedValues(c.cameras, Camera.clone) }

// CamerasOf returns the cameras of one node, by ID.
func (c *Catalogue) CamerasOf(site string) []Camera {
	var out []Camera
	prefix := site + "/"
	for _, k := range slices.Sorted(maps.Keys(c.cameras)) {
		if strings.HasPrefix(k, prefix) {
			out = append(out, c.cameras[k].clone())
		}
	}
	return out
}

// Zone returns one zone.
func (c *Catalogue) Zone(id string) (Zone, bool) {
	z, ok := c.zones[id]
	return z, ok
}

// Zones returns every zone, by ID.
func (c *Catalogue) Zones() []Zone { return sortedValues(c.zones, func(z Zone) Zone { return z }) }

// User returns one user.
func (c *Catalogue) User(name string) (User, bool) {
	u, ok := c.users[name]
	return u.clone(), ok
}

// Users returns every user, by name.
func (c *Catalogue) Users() []User { return sortedValues(c.users, User.clone) }

// Policy returns the replication policy of one node.
func (c *Catalogue) Policy(node string) (Policy, bool) {
	p, ok := c.policies[node]
	return p, ok
}

// Policies returns every policy, by node.
func (c *Catalogue) Policies() []Policy {
	return sortedValues(c.policies, func(p Policy) Policy { return p })
}

// Contents is the whole catalogue as plain, JSON-friendly lists.
type Contents struct {
	Revision uint64   `json:"revision"`
	Nodes    []Node   `json:"nodes"`
	Cameras  []Camera `json:"cameras"`
	Zones    []Zone   `json:"zones"`
	Users    []User   `json:"users"`
	Policies []Policy `json:"policies"`
}

// Contents returns a copy of everything in the catalogue.
func (c *Catalogue) Contents() Contents {
	return Contents{
		Revision: c.revision, Nodes: c.Nodes(), Cameras: c.Cameras(), Zones: c.Zones(),
		Users: c.Users(), Policies: c.Policies(),
	}
}

// Equal reports whether two catalogues hold the same records (revisions
// aside).
func (c *Catalogue) Equal(o *Catalogue) bool {
	return reflect.DeepEqual(c.nodes, o.nodes) && reflect.DeepEqual(c.cameras, o.cameras) &&
		reflect.DeepEqual(c.zones, o.zones) && reflect.DeepEqual(c.users, o.users) &&
		reflect.DeepEqual(c.policies, o.policies)
}

// fromContents builds a catalogue from lists, checking every record as a
// command would; a snapshot that fails is refused rather than half-loaded.
func fromContents(ct Contents) (*Catalogue, error) {
	c := emptyCatalogue()
	c.building = true
	// a parent always ranks above its children, so parents come first
	nodes := slices.Clone(ct.Nodes)
	slices.SortStableFunc(nodes, func(a, b Node) int { return cmp.Compare(roleRank(b.Role), roleRank(a.Role)) })
	cmds := make([]Command, 0, len(nodes)+len(ct.Zones)+len(ct.Cameras)+len(ct.Users)+len(ct.Policies))
	for i := range nodes {
		cmds = append(cmds, Command{Type: PutNode, Node: &nodes[i], Create: true})
	}
	for i := range ct.Zones {
		cmds = append(cmds, Command{Type: PutZone, Zone: &ct.Zones[i], Create: true})
	}
	for i := range ct.Cameras {
		cmds = append(cmds, Command{Type: PutCamera, Camera: &ct.Cameras[i], Create: true})
	}
	for i := range ct.Users {
		cmds = append(cmds, Command{Type: PutUser, User: &ct.Users[i], Create: true})
	}
	for i := range ct.Policies {
		cmds = append(cmds, Command{Type: PutPolicy, Policy: &ct.Policies[i], Create: true})
	}
	for _, cmd := range cmds {
		nc, err := c.apply(cmd)
		if err != nil {
			return nil, err
		}
		c = nc
	}
	c.building = false
	c.revision = ct.Revision
	return c, nil
}

func sortedValues[V any](m map[string]V, cp func(V) V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, cp(m[k]))
	}
	return out
}
