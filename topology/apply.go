package topology

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// apply returns the catalogue with cmd applied, or an error saying why the
// change is refused; c itself is left as it was. Every replica runs this on
// the same catalogue with the same command, so it must be deterministic.
func (c *Catalogue) apply(cmd Command) (*Catalogue, error) {
	if err := cmd.check(); err != nil {
		return nil, err
	}
	n := *c // copy-on-write: only the map that changes is copied
	switch cmd.Type {
	case PutNode:
		return n.putNode(*cmd.Node, cmd.Create)
	case DeleteNode:
		return n.deleteNode(cmd.ID)
	case PutCamera:
		return n.putCamera(*cmd.Camera, cmd.Create, cmd.v < 4 && cmd.v > 0)
	case DeleteCamera:
		key := CameraKey(cmd.Site, cmd.ID)
		if _, ok := c.cameras[key]; !ok {
			return nil, notFoundf("camera %s does not exist", key)
		}
		n.cameras = own(c.building, c.cameras)
		delete(n.cameras, key)
		return &n, nil
	case PutZone:
		return n.putZone(*cmd.Zone, cmd.Create)
	case DeleteZone:
		if _, ok := c.zones[cmd.ID]; !ok {
			return nil, notFoundf("zone %s does not exist", cmd.ID)
		}
		if users := c.camerasWhere(func(cam Camera) bool { return cam.Zone == cmd.ID }); len(users) > 0 {
			return nil, conflictf("zone %s is used by cameras %s; move or delete them first", cmd.ID, list(users))
		}
		n.zones = own(c.building, c.zones)
		delete(n.zones, cmd.ID)
		return &n, nil
	case PutUser:
		return n.putUser(*cmd.User, cmd.Create)
	case DeleteUser:
		if _, ok := c.users[cmd.ID]; !ok {
			return nil, notFoundf("user %s does not exist", cmd.ID)
		}
		if c.lastAdmin(cmd.ID) {
			return nil, conflictf("user %s is the last enabled admin; make another admin first", cmd.ID)
		}
		n.users = own(c.building, c.users)
		delete(n.users, cmd.ID)
		return &n, nil
	case PutPolicy:
		p := *cmd.Policy
		if _, ok := c.nodes[p.Node]; !ok {
			return nil, invalidf("policy for unknown node %s", p.Node)
		}
		if _, ok := c.policies[p.Node]; ok && cmd.Create {
			return nil, conflictf("policy for %s already exists", p.Node)
		}
		n.policies = own(c.building, c.policies)
		n.policies[p.Node] = p
		return &n, nil
	case DeletePolicy:
		if _, ok := c.policies[cmd.ID]; !ok {
			return nil, notFoundf("no policy for %s", cmd.ID)
		}
		n.policies = own(c.building, c.policies)
		delete(n.policies, cmd.ID)
		return &n, nil
	}
	return nil, invalidf("unknown command type %q", cmd.Type)
}

func (c *Catalogue) putNode(nd Node, create bool) (*Catalogue, error) {
	old, exists := c.nodes[nd.ID]
	if exists && create {
		return nil, conflictf("node %s already exists", nd.ID)
	}
	if nd.Parent != "" {
		parent, ok := c.nodes[nd.Parent]
		if !ok {
			return nil, invalidf("node %s: unknown parent %s", nd.ID, nd.Parent)
		}
		// ranks fall strictly down the tree, which also rules out cycles
		if roleRank(parent.Role) <= roleRank(nd.Role) {
			return nil, invalidf("node %s: a %s cannot sit under %s, which is a %s (centre > region > site)", nd.ID, nd.Role, parent.ID, parent.Role)
		}
	}
	if exists && old.Role != nd.Role {
		var clash []string
		for _, ch := range c.nodes {
			if ch.Parent == nd.ID && roleRank(ch.Role) >= roleRank(nd.Role) {
				clash = append(clash, ch.ID)
			}
		}
		if len(clash) > 0 {
			return nil, conflictf("node %s cannot become a %s above its children %s", nd.ID, nd.Role, list(clash))
		}
	}
	c.nodes = own(c.building, c.nodes)
	c.nodes[nd.ID] = nd.clone()
	return c, nil
}

func (c *Catalogue) deleteNode(id string) (*Catalogue, error) {
	if _, ok := c.nodes[id]; !ok {
		return nil, notFoundf("node %s does not exist", id)
	}
	var children []string
	for _, ch := range c.nodes {
		if ch.Parent == id {
			children = append(children, ch.ID)
		}
	}
	if len(children) > 0 {
		return nil, conflictf("node %s still has children %s; move or delete them first", id, list(children))
	}
	if cams := c.camerasWhere(func(cam Camera) bool { return cam.Site == id }); len(cams) > 0 {
		return nil, conflictf("node %s still has cameras %s; delete them first", id, list(cams))
	}
	var zones []string
	for _, z := range c.zones {
		if z.Site == id {
			zones = append(zones, z.ID)
		}
	}
	if len(zones) > 0 {
		return nil, conflictf("node %s still has zones %s; delete them first", id, list(zones))
	}
	c.nodes = own(c.building, c.nodes)
	delete(c.nodes, id)
	if _, ok := c.policies[id]; ok { // a node's policy goes with it
		c.policies = own(c.building, c.policies)
		delete(c.policies, id)
	}
	return c, nil
}

func (c *Catalogue) putCamera(cam Camera, create, asGiven bool) (*Catalogue, error) {
	cam = cam.clone()
	key := cam.Key()
	old, exists := c.cameras[key]
	if exists && create {
		return nil, conflictf("camera %s already exists", key)
	}
	if !asGiven {
		// reads never show passwords, so a record read, edited and put
		// back keeps its password (schema v4; v3 commands stored the URL
		// as given)
		cam.URL = storedURL(cam.URL, cam.PasswordSet, old.URL, exists)
		if cam.PasswordSet != nil && *cam.PasswordSet {
			if _, _, _, has := urlPassword(cam.URL); !has {
				return nil, invalidf("camera %s: password_set is true but no password is stored; give it in the url (rtsp://user:password@host/...)", key)
			}
		}
	}
	cam.PasswordSet = nil // said how to treat the password; never stored
	if in := cam.Analytics.ANPR.Ingest; in != nil && in.TokenSHA256 == "" {
		// reads never show the token: a record read, edited and put back
		// keeps it
		if o := old.Analytics.ANPR.Ingest; exists && o != nil && o.TokenSHA256 != "" {
			in.TokenSHA256 = o.TokenSHA256
		} else {
			return nil, invalidf("camera %s: anpr ingest needs a token (16 characters or more, e.g. from 'openssl rand -hex 16')", key)
		}
	}
	if in := cam.Analytics.ANPR.Ingest; in != nil {
		for k, o := range c.cameras {
			if oi := o.Analytics.ANPR.Ingest; k != key && oi != nil && oi.TokenSHA256 == in.TokenSHA256 {
				return nil, invalidf("camera %s has the same ingest token as camera %s; each camera needs its own", key, k)
			}
		}
	}
	if _, ok := c.nodes[cam.Site]; !ok {
		return nil, invalidf("camera %s: unknown site %s", key, cam.Site)
	}
	if cam.Zone != "" {
		z, ok := c.zones[cam.Zone]
		if !ok {
			return nil, invalidf("camera %s: unknown zone %s", key, cam.Zone)
		}
		if z.Site != "" && z.Site != cam.Site {
			return nil, invalidf("camera %s: zone %s belongs to %s", key, z.ID, z.Site)
		}
	}
	c.cameras = own(c.building, c.cameras)
	c.cameras[key] = cam.clone()
	return c, nil
}

func (c *Catalogue) putZone(z Zone, create bool) (*Catalogue, error) {
	if _, ok := c.zones[z.ID]; ok && create {
		return nil, conflictf("zone %s already exists", z.ID)
	}
	if z.Site != "" {
		if _, ok := c.nodes[z.Site]; !ok {
			return nil, invalidf("zone %s: unknown site %s", z.ID, z.Site)
		}
		if other := c.camerasWhere(func(cam Camera) bool { return cam.Zone == z.ID && cam.Site != z.Site }); len(other) > 0 {
			return nil, conflictf("zone %s cannot belong to %s: cameras %s of other nodes use it", z.ID, z.Site, list(other))
		}
	}
	old, exists := c.zones[z.ID]
	if err := c.checkDevices(&z, old, exists); err != nil {
		return nil, err
	}
	c.zones = own(c.building, c.zones)
	c.zones[z.ID] = z.clone()
	return c, nil
}

// checkDevices keeps a reader's stored token when a put gives none (reads
// never show it) and keeps reader and barrier IDs unique within a site,
// and reader tokens unique.
func (c *Catalogue) checkDevices(z *Zone, old Zone, exists bool) error {
	z.Readers = slices.Clone(z.Readers)
	for i := range z.Readers {
		r := &z.Readers[i]
		if r.TokenSHA256 != "" {
			continue
		}
		found := false
		if exists && old.Site == z.Site {
			for _, o := range old.Readers {
				if o.ID == r.ID && o.TokenSHA256 != "" {
					r.TokenSHA256, found = o.TokenSHA256, true
				}
			}
		}
		if !found {
			return invalidf("zone %s: reader %s needs a token (16 characters or more, e.g. from 'openssl rand -hex 16')", z.ID, r.ID)
		}
	}
	for _, o := range c.zones {
		if o.ID == z.ID {
			continue
		}
		for _, r := range z.Readers {
			for _, or := range o.Readers {
				if o.Site == z.Site && or.ID == r.ID {
					return invalidf("zone %s: reader %s is zone %s's already", z.ID, r.ID, o.ID)
				}
				if or.TokenSHA256 == r.TokenSHA256 {
					return invalidf("zone %s: reader %s has the same token as reader %s of zone %s; each reader needs its own", z.ID, r.ID, or.ID, o.ID)
				}
			}
			if b := o.Barrier; b != nil && o.Site == z.Site && b.ID == r.ID {
				return invalidf("zone %s: reader %s has the id of zone %s's barrier", z.ID, r.ID, o.ID)
			}
		}
		if b := z.Barrier; b != nil && o.Site == z.Site {
			if ob := o.Barrier; ob != nil && ob.ID == b.ID {
				return invalidf("zone %s: barrier %s is zone %s's already", z.ID, b.ID, o.ID)
			}
			for _, or := range o.Readers {
				if or.ID == b.ID {
					return invalidf("zone %s: barrier %s has the id of zone %s's reader", z.ID, b.ID, o.ID)
				}
			}
		}
	}
	return nil
}

func (c *Catalogue) putUser(u User, create bool) (*Catalogue, error) {
	old, exists := c.users[u.Name]
	if exists && create {
		return nil, conflictf("user %s already exists", u.Name)
	}
	if u.PasswordHash == "" {
		// reads never show hashes, so a record read, edited and put back
		// keeps its password
		u.PasswordHash = old.PasswordHash
	}
	if (u.Role != UserAdmin || u.Disabled) && c.lastAdmin(u.Name) {
		return nil, conflictf("user %s is the last enabled admin; make another admin first", u.Name)
	}
	c.users = own(c.building, c.users)
	c.users[u.Name] = u.clone()
	return c, nil
}

// lastAdmin reports whether name is the only enabled admin, so that the
// catalogue is never left without someone able to manage it.
func (c *Catalogue) lastAdmin(name string) bool {
	u, ok := c.users[name]
	if !ok || u.Role != UserAdmin || u.Disabled {
		return false
	}
	for _, o := range c.users {
		if o.Name != name && o.Role == UserAdmin && !o.Disabled {
			return false
		}
	}
	return true
}

func (c *Catalogue) camerasWhere(f func(Camera) bool) []string {
	var out []string
	for k, cam := range c.cameras {
		if f(cam) {
			out = append(out, k)
		}
	}
	return out
}

// own returns a map the new catalogue may change: a copy, except while a
// catalogue is being built from a snapshot and nobody else holds it.
func own[M ~map[string]V, V any](building bool, m M) M {
	if building {
		return m
	}
	return maps.Clone(m)
}

// list names up to five IDs, sorted, for messages.
func list(ids []string) string {
	slices.Sort(ids)
	if len(ids) > 5 {
		return fmt.Sprintf("%s and %d more", strings.Join(ids[:5], ", "), len(ids)-5)
	}
	return strings.Join(ids, ", ")
}
