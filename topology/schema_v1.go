package topology

// Schema v1 records, read from Raft logs and snapshots written by v1
// replicas and migrated on the fly. v2 changed:
//   - node: one "address" became "addresses"; "fingerprint" and "serial"
//     became "cert_fingerprint" and "cert_serial";
//   - camera: "anpr" (bool) and "anpr_fps" moved into analytics.anpr;
//   - policy: "child" became "node".

type nodeV1 struct {
	ID          string `json:"id"`
	Role        string `json:"role"`
	Name        string `json:"name,omitempty"`
	Parent      string `json:"parent,omitempty"`
	Address     string `json:"address,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Serial      string `json:"serial,omitempty"`
	Revoked     bool   `json:"revoked,omitempty"`
}

func (n nodeV1) migrate() Node {
	out := Node{ID: n.ID, Role: n.Role, Name: n.Name, Parent: n.Parent,
		CertFingerprint: n.Fingerprint, CertSerial: n.Serial, Revoked: n.Revoked}
	if n.Address != "" {
		out.Addresses = []string{n.Address}
	}
	return out
}

type cameraV1 struct {
	ID            string  `json:"id"`
	Site          string  `json:"site"`
	Name          string  `json:"name,omitempty"`
	URL           string  `json:"url"`
	Transport     string  `json:"transport,omitempty"`
	Zone          string  `json:"zone,omitempty"`
	Direction     string  `json:"direction,omitempty"`
	RetentionDays int     `json:"retention_days,omitempty"`
	Disabled      bool    `json:"disabled,omitempty"`
	ANPR          bool    `json:"anpr,omitempty"`
	ANPRFPS       float64 `json:"anpr_fps,omitempty"`
}

func (c cameraV1) migrate() Camera {
	return Camera{ID: c.ID, Site: c.Site, Name: c.Name, URL: c.URL, Transport: c.Transport,
		Zone: c.Zone, Direction: c.Direction, RetentionDays: c.RetentionDays, Disabled: c.Disabled,
		Analytics: Analytics{ANPR: ANPR{Enabled: c.ANPR, FPS: c.ANPRFPS}}}
}

type userV1 struct {
	Name         string   `json:"name"`
	Role         string   `json:"role"`
	PasswordHash string   `json:"password_hash,omitempty"`
	Allow        []string `json:"allow,omitempty"`
}

func (u userV1) migrate() User {
	return User{Name: u.Name, Role: u.Role, PasswordHash: u.PasswordHash, Allow: u.Allow}
}

type policyV1 struct {
	Child     string  `json:"child"`
	Fragments string  `json:"fragments"`
	Mbps      float64 `json:"mbps,omitempty"`
	TotalMbps float64 `json:"total_mbps,omitempty"`
}

func (p policyV1) migrate() Policy {
	return Policy{Node: p.Child, Fragments: p.Fragments, Mbps: p.Mbps, TotalMbps: p.TotalMbps}
}

type commandV1 struct {
	V      int         `json:"v"`
	Type   CommandType `json:"type"`
	Create bool        `json:"create,omitempty"`
	Node   *nodeV1     `json:"node,omitempty"`
	Camera *cameraV1   `json:"camera,omitempty"`
	Zone   *Zone       `json:"zone,omitempty"`
	User   *userV1     `json:"user,omitempty"`
	Policy *policyV1   `json:"policy,omitempty"`
	ID     string      `json:"id,omitempty"`
	Site   string      `json:"site,omitempty"`
}

func (w commandV1) migrate() Command {
	c := Command{Type: w.Type, Create: w.Create, Zone: w.Zone, ID: w.ID, Site: w.Site}
	if w.Node != nil {
		n := w.Node.migrate()
		c.Node = &n
	}
	if w.Camera != nil {
		cam := w.Camera.migrate()
		c.Camera = &cam
	}
	if w.User != nil {
		u := w.User.migrate()
		c.User = &u
	}
	if w.Policy != nil {
		p := w.Policy.migrate()
		c.Policy = &p
	}
	return c
}

type snapshotV1 struct {
	Schema   int        `json:"schema"`
	Revision uint64     `json:"revision"`
	Nodes    []nodeV1   `json:"nodes"`
	Cameras  []cameraV1 `json:"cameras"`
	Zones    []Zone     `json:"zones"`
	Users    []userV1   `json:"users"`
	Policies []policyV1 `json:"policies"`
}

func (s snapshotV1) migrate() Contents {
	ct := Contents{Revision: s.Revision, Zones: s.Zones}
	for _, n := range s.Nodes {
		ct.Nodes = append(ct.Nodes, n.migrate())
	}
	for _, c := range s.Cameras {
		ct.Cameras = append(ct.Cameras, c.migrate())
	}
	for _, u := range s.Users {
		ct.Users = append(ct.Users, u.migrate())
	}
	for _, p := range s.Policies {
		ct.Policies = append(ct.Policies, p.migrate())
	}
	return ct
}
