package topology

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// Slice is what one node needs of the catalogue to run on its own: its
// cameras, its replication policy and the revoked nodes. Parents carry it
// down the federation link; the node caches it on disk so that it starts
// and keeps working while its parent is unreachable.
type Slice struct {
	Schema   int      `json:"schema"`
	Node     string   `json:"node"`
	Role     string   `json:"role"`
	Revision uint64   `json:"revision"` // catalogue revision it was cut from
	Parent   string   `json:"parent,omitempty"`
	Upstream []string `json:"upstream,omitempty"` // the addresses of the parent and of its tier's other replicas
	Revoked  bool     `json:"revoked,omitempty"`  // this node itself is revoked
	Cameras  []Camera `json:"cameras"`
	Zones    []Zone   `json:"zones,omitempty"` // the zones its cameras name
	Policy   Policy   `json:"policy"`          // its own, or all with no caps
	// RevokedNodes lists every revoked node of the catalogue, so that links
	// refuse them even while the parent is unreachable.
	RevokedNodes []RevokedNode `json:"revoked_nodes"`
	// Subtree lists the nodes whose events may reach this node over its
	// children's links (Catalogue.Subtree): the descendants of this node
	// and of the other replicas of its tier. A parent that keeps no
	// catalogue replica of its own authorises its children from it.
	Subtree []string `json:"subtree,omitempty"`
	// Plugins are the analytics plugins the catalogue rolls out to this
	// node (Node.Plugins).
	Plugins []NodePlugin `json:"plugins,omitempty"`
}

// RevokedNode identifies a revoked node's certificate.
type RevokedNode struct {
	ID              string `json:"id"`
	CertSerial      string `json:"cert_serial,omitempty"`
	CertFingerprint string `json:"cert_fingerprint,omitempty"`
}

// maxSliceBytes bounds a cached slice file.
const maxSliceBytes = 64 << 20

// SliceSchema is the schema of slices: v4 changed what commands mean, not
// what a slice holds, so sites that read v3 still take them.
const SliceSchema = 3

const slicePurpose = "catalogue slice"

// SliceFor cuts the slice of one node.
func (c *Catalogue) SliceFor(node string) (*Slice, error) {
	n, ok := c.nodes[node]
	if !ok {
		return nil, notFoundf("node %s is not in the catalogue", node)
	}
	s := &Slice{
		Schema: SliceSchema, Node: n.ID, Role: n.Role, Revision: c.revision, Parent: n.Parent,
		Revoked: n.Revoked, Cameras: c.CamerasOf(node), RevokedNodes: []RevokedNode{}, Plugins: clonePlugins(n.Plugins),
		Policy: Policy{Node: node, Fragments: FragmentsAll},
	}
	if s.Cameras == nil {
		s.Cameras = []Camera{}
	}
	if p, ok := c.policies[node]; ok {
		s.Policy = p
	}
	if n.Parent != "" {
		// the parent first, then its tier's other replicas, so the child
		// fails over to any of them
		seen := map[string]bool{}
		for _, id := range append([]string{n.Parent}, c.Tier(n.Parent)...) {
			for _, a := range c.nodes[id].Addresses {
				if !seen[a] {
					seen[a] = true
					s.Upstream = append(s.Upstream, a)
				}
			}
		}
	}
	s.Subtree = c.Subtree(node)
	zones := map[string]bool{}
	for _, cam := range s.Cameras {
		if cam.Zone != "" && !zones[cam.Zone] {
			zones[cam.Zone] = true
			s.Zones = append(s.Zones, c.zones[cam.Zone])
		}
	}
	for _, z := range c.zones {
		if z.Site == node && !zones[z.ID] { // its readers and barrier
			zones[z.ID] = true
			s.Zones = append(s.Zones, z)
		}
	}
	slices.SortFunc(s.Zones, func(a, b Zone) int { return cmp.Compare(a.ID, b.ID) })
	for _, o := range c.Nodes() {
		if o.Revoked {
			s.RevokedNodes = append(s.RevokedNodes, RevokedNode{ID: o.ID, CertSerial: o.CertSerial, CertFingerprint: o.CertFingerprint})
		}
	}
	return s, nil
}

// RevokedSerials lists the certificate serials of revoked nodes, as
// federation revocation lists take them.
func (s *Slice) RevokedSerials() []string {
	var out []string
	for _, r := range s.RevokedNodes {
		if r.CertSerial != "" {
			out = append(out, r.CertSerial)
		}
	}
	return out
}

// ParseSlice decodes and checks a slice.
func ParseSlice(b []byte) (*Slice, error) {
	schema, err := version(b, "schema")
	if err != nil {
		return nil, invalidf("catalogue slice: %v", err)
	}
	if schema != SliceSchema && schema != 2 { // v3 added optional fields only
		if schema > SliceSchema {
			return nil, invalidf("catalogue slice schema v%d is newer than this node's v%d: upgrade this node", schema, SliceSchema)
		}
		return nil, invalidf("catalogue slice has schema v%d; this node reads v%d", schema, SliceSchema)
	}
	var s Slice
	if err := strictJSON(b, &s); err != nil {
		return nil, invalidf("catalogue slice: %v", err)
	}
	if err := checkID("catalogue slice node", s.Node); err != nil {
		return nil, err
	}
	if roleRank(s.Role) == 0 {
		return nil, invalidf("catalogue slice: role must be centre, region or site (got %q)", s.Role)
	}
	if err := checkPlugins(s.Node, s.Plugins); err != nil {
		return nil, fmt.Errorf("catalogue slice: %w", err)
	}
	if s.Parent != "" {
		if err := checkID("catalogue slice parent", s.Parent); err != nil {
			return nil, err
		}
	}
	s.Upstream, s.Zones = nilIfEmpty(s.Upstream), nilIfEmpty(s.Zones)
	for _, a := range s.Upstream {
		if err := checkHostPort(a); err != nil {
			return nil, invalidf("catalogue slice: upstream %q: %v", a, err)
		}
	}
	seen := map[string]bool{}
	for i := range s.Cameras {
		cam := &s.Cameras[i]
		if err := cam.check(); err != nil {
			return nil, fmt.Errorf("catalogue slice: %w", err)
		}
		if cam.Site != s.Node {
			return nil, invalidf("catalogue slice of %s holds camera %s of another node", s.Node, cam.Key())
		}
		if seen[cam.ID] {
			return nil, invalidf("catalogue slice: camera %s appears twice", cam.ID)
		}
		seen[cam.ID] = true
	}
	for i := range s.Zones {
		if err := s.Zones[i].check(); err != nil {
			return nil, fmt.Errorf("catalogue slice: %w", err)
		}
	}
	if err := s.Policy.check(); err != nil {
		return nil, fmt.Errorf("catalogue slice: %w", err)
	}
	if s.Policy.Node != s.Node {
		return nil, invalidf("catalogue slice of %s holds the policy of %s", s.Node, s.Policy.Node)
	}
	for _, r := range s.RevokedNodes {
		n := Node{ID: r.ID, Role: RoleSite, CertSerial: r.CertSerial, CertFingerprint: r.CertFingerprint}
		if err := n.check(); err != nil {
			return nil, fmt.Errorf("catalogue slice: revoked node: %w", err)
		}
	}
	s.Subtree = nilIfEmpty(s.Subtree)
	below := map[string]bool{}
	for _, id := range s.Subtree {
		if err := checkID("catalogue slice: subtree node", id); err != nil {
			return nil, err
		}
		if id == s.Node || below[id] {
			return nil, invalidf("catalogue slice of %s: subtree names %s twice or the node itself", s.Node, id)
		}
		below[id] = true
	}
	if s.Cameras == nil {
		s.Cameras = []Camera{}
	}
	if s.RevokedNodes == nil {
		s.RevokedNodes = []RevokedNode{}
	}
	return &s, nil
}

// SaveSlice writes a slice durably and atomically: a reader (or a crash)
// sees the old file or the new one, never a torn one. It holds camera
// passwords: it is sealed with key (nil: written in clear, for tests and
// tools) and only the node's user can read it.
func SaveSlice(path string, s *Slice, key *SecretKey) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode catalogue slice: %w", err)
	}
	b = append(b, '\n')
	if key != nil {
		b = key.Seal(b, slicePurpose)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save catalogue slice: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("save catalogue slice %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save catalogue slice %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save catalogue slice %s: %w", path, err)
	}
	// the rename itself is durable only once the directory is synced
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save catalogue slice %s: sync directory: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save catalogue slice %s: sync directory: %w", path, err)
	}
	return nil
}

// LoadSlice reads a slice saved by SaveSlice, opening it with key. One
// an older version cached in clear is read and, given a key, sealed in
// place.
func LoadSlice(path string, key *SecretKey) (*Slice, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load catalogue slice: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSliceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("load catalogue slice %s: %w", path, err)
	}
	if len(b) > maxSliceBytes {
		return nil, fmt.Errorf("load catalogue slice %s: larger than %d bytes", path, maxSliceBytes)
	}
	sealed := IsSealed(b)
	if sealed {
		if key == nil {
			return nil, fmt.Errorf("load catalogue slice %s: it is sealed and no node key was given", path)
		}
		if b, err = key.Open(b, slicePurpose); err != nil {
			return nil, fmt.Errorf("load catalogue slice %s: %w", path, err)
		}
	}
	s, err := ParseSlice(b)
	if err != nil {
		return nil, fmt.Errorf("load catalogue slice %s: %w", path, err)
	}
	if !sealed && key != nil {
		if err := SaveSlice(path, s, key); err != nil {
			return nil, fmt.Errorf("seal catalogue slice cached in clear: %w", err)
		}
	}
	return s, nil
}
