package topology

import "slices"

// Node roles, from the top of the hierarchy down.
const (
	RoleCentre = "centre"
	RoleRegion = "region"
	RoleSite   = "site"
)

// User roles, from most to least privileged.
const (
	UserAdmin    = "admin"
	UserEngineer = "engineer"
	UserOperator = "operator"
	UserViewer   = "viewer"
)

// Fragment replication policies of a child's link to its parent.
const (
	FragmentsAll        = "all"
	FragmentsReferenced = "referenced" // only segments that events point at
	FragmentsNone       = "none"
)

// Node is one Kuzet node of the subtree.
type Node struct {
	ID        string   `json:"id"`
	Role      string   `json:"role"`             // centre | region | site
	Name      string   `json:"name,omitempty"`   // for people, e.g. "Khorgos crossing"
	Parent    string   `json:"parent,omitempty"` // empty: root of this catalogue
	Addresses []string `json:"addresses,omitempty"`
	// CertFingerprint is the SHA-256 of the node certificate (hex, DER).
	CertFingerprint string `json:"cert_fingerprint,omitempty"`
	// CertSerial is the certificate serial (hex), as revocation lists name it.
	CertSerial string `json:"cert_serial,omitempty"`
	Revoked    bool   `json:"revoked,omitempty"`
	// Tier groups the replicas of one parent tier (e.g. region-a1,
	// region-a2, region-a3, the members of its Raft group): nodes of the
	// same role and parent sharing a non-empty tier stand in for each
	// other, so a child of any of them may link to any of them.
	Tier string `json:"tier,omitempty"`
	// Plugins are analytics plugins the catalogue rolls out to the node
	// (docs/plugins.md): each must be installed in the node's plugins_dir
	// under its name. The catalogue never names a command: a write to it
	// must not mean running a program of the writer's choice everywhere.
	Plugins []NodePlugin `json:"plugins,omitempty"`
}

// NodePlugin is one plugin of a node as the catalogue gives it.
type NodePlugin struct {
	Name            string   `json:"name"`
	Args            []string `json:"args,omitempty"`
	Cameras         []string `json:"cameras,omitempty"` // the node's cameras it sees
	Events          []string `json:"events,omitempty"`  // kinds it may subscribe to
	FPS             float64  `json:"fps,omitempty"`
	Width           int      `json:"width,omitempty"`
	Height          int      `json:"height,omitempty"`
	Format          string   `json:"format,omitempty"`    // gray | rgb24
	Keyframes       bool     `json:"keyframes,omitempty"` // only keyframes decoded
	Every           int      `json:"every,omitempty"`     // one frame in N
	MemoryMB        int      `json:"memory_mb,omitempty"`
	EventsPerMinute int      `json:"events_per_minute,omitempty"`
	SnapshotKB      int      `json:"snapshot_kb,omitempty"`
	// Remote: it runs elsewhere and connects to the node's plugins_listen
	// with a certificate naming the node and it.
	Remote bool `json:"remote,omitempty"`
	// Connect: the node dials the remote plugin's service there
	// (host:port) instead of waiting for it.
	Connect string `json:"connect,omitempty"`
}

// ANPR is a camera's plate-reading settings.
type ANPR struct {
	Enabled       bool     `json:"enabled"`
	FPS           float64  `json:"fps,omitempty"` // frames analysed per second
	KeyframesOnly bool     `json:"keyframes_only,omitempty"`
	ROI           []int    `json:"roi,omitempty"` // x, y, width, height
	Countries     []string `json:"countries,omitempty"`
	Axis          string   `json:"axis,omitempty"` // down | up | left | right
	// Ingest takes the plate events of the camera's own ANPR (nil: none).
	Ingest *Ingest `json:"ingest,omitempty"`
}

// Ingest lets a camera post its own plate reads to its site. The token is
// write-only: a put gives it, the catalogue keeps only its SHA-256 (all
// the site needs to check it), and reads say token_set instead.
type Ingest struct {
	Format string `json:"format,omitempty"` // generic | hikvision | dahua; empty: told by each request
	// Token is the camera's secret in a put (at least 16 characters); it
	// is hashed before the change enters the catalogue's log.
	Token       string   `json:"token,omitempty"`
	TokenSHA256 string   `json:"token_sha256,omitempty"` // hex; never shown by the API
	TokenSet    *bool    `json:"token_set,omitempty"`    // reads: whether a token is stored
	From        []string `json:"from,omitempty"`         // addresses or prefixes it posts from besides its URL's host
}

// Analytics groups a camera's analysis settings.
type Analytics struct {
	ANPR ANPR `json:"anpr"`
}

// CameraRecord is when a camera's stream is recorded: always, or on
// events and schedules with the seconds before each event kept.
type CameraRecord struct {
	Mode        string   `json:"mode"`                   // continuous | event
	PreSeconds  int      `json:"pre_seconds,omitempty"`  // kept before an event (default 10, at most 60)
	PostSeconds int      `json:"post_seconds,omitempty"` // recorded after the last event (default 20)
	On          []string `json:"on,omitempty"`           // motion, plate, alarm, api (default all)
	Schedule    []string `json:"schedule,omitempty"`     // recorded throughout: "mon-fri 08:00-18:00"
	// Motion: frames judged per second, the share that must change, and
	// [x, y, width, height] rectangles where nothing counts.
	MotionFPS       float64 `json:"motion_fps,omitempty"`
	MotionThreshold float64 `json:"motion_threshold,omitempty"`
	MotionMask      [][]int `json:"motion_mask,omitempty"`
	// Sub: continuous (the default in event mode, with a sub_path) or off.
	Sub string `json:"sub,omitempty"`
}

// Camera is one camera stream recorded by a node. Camera IDs are unique
// within their node, as in the node's own configuration.
type Camera struct {
	ID        string `json:"id"`
	Site      string `json:"site"`
	Name      string `json:"name,omitempty"`
	URL       string `json:"url"`
	Transport string `json:"transport,omitempty"` // tcp | udp (default tcp)
	Zone      string `json:"zone,omitempty"`
	Lane      string `json:"lane,omitempty"`
	// AllowedDirection is the lane's direction of travel (entry | exit;
	// empty: either): a vehicle read going the other way is a violation.
	AllowedDirection string    `json:"allowed_direction,omitempty"`
	Direction        string    `json:"direction,omitempty"`      // entry | exit | auto (default entry)
	RetentionDays    int       `json:"retention_days,omitempty"` // 0: the node's default
	Disabled         bool      `json:"disabled,omitempty"`
	Analytics        Analytics `json:"analytics"`
	// SubPath is the path (and query) of the camera's sub-stream on the
	// same host with the same login as URL: small live tiles play it.
	SubPath string `json:"sub_path,omitempty"`
	// ONVIF is the camera's ONVIF device service, which PTZ commands go
	// to with the login of URL (empty: no PTZ).
	ONVIF string `json:"onvif,omitempty"`
	// Record is when the camera is recorded (nil: always), as
	// cameras[].record in a node's file.
	Record *CameraRecord `json:"record,omitempty"`
	// PasswordSet is how the API speaks of the password in URL, which it
	// never shows (see Redacted): reads say true when one is stored. In a
	// put, a URL that names a user without a password keeps the stored
	// password; false removes it. The catalogue itself never stores it.
	PasswordSet *bool `json:"password_set,omitempty"`
}

// Key names a camera in the catalogue: site/id.
func (c Camera) Key() string { return CameraKey(c.Site, c.ID) }

// CameraKey is the catalogue key of camera id at site.
func CameraKey(site, id string) string { return site + "/" + id }

// Zone is an area cameras watch (a lane, a truck waiting zone).
type Zone struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Site        string `json:"site,omitempty"` // empty: not tied to one node
	Description string `json:"description,omitempty"`
	// Kind is what the zone is for: entry and exit open and close
	// vehicles' visits; weighing, xray, customs, inspection, waiting or
	// the site's own word pass through.
	Kind string `json:"kind,omitempty"`
	// DwellLimitMinutes is how long a vehicle may stay before a
	// dwell_exceeded alarm at the site (0: no limit).
	DwellLimitMinutes int `json:"dwell_limit_minutes,omitempty"`
	// Forbidden: a vehicle seen here is a violation; ReachWithinMinutes: a
	// vehicle that entered and is not seen here this long after is one.
	Forbidden          bool `json:"forbidden,omitempty"`
	ReachWithinMinutes int  `json:"reach_within_minutes,omitempty"`
	// Readers are the zone's card or ticket readers and Barrier its
	// barrier (UA-3.2, UA-3.4.6); both need the zone's site.
	Readers []ZoneReader `json:"readers,omitempty"`
	Barrier *ZoneBarrier `json:"barrier,omitempty"`
}

// ZoneReader is a card or ticket reader. Its token is write-only like a
// camera's ingest token: a put gives it, the catalogue keeps its SHA-256,
// reads say token_set.
type ZoneReader struct {
	ID                string   `json:"id"`
	Token             string   `json:"token,omitempty"`
	TokenSHA256       string   `json:"token_sha256,omitempty"`
	TokenSet          *bool    `json:"token_set,omitempty"`
	From              []string `json:"from,omitempty"`                // addresses or prefixes it posts from
	MaxSilenceSeconds int      `json:"max_silence_seconds,omitempty"` // 0: not watched
}

// ZoneBarrier is a barrier and who may grant its exits: the principals of
// customs and of the site owner (user names, or token:NAME).
type ZoneBarrier struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"` // the relay box, http(s), without credentials
	TimeoutMS int      `json:"timeout_ms,omitempty"`
	Customs   []string `json:"customs"`
	Owner     []string `json:"owner"`
}

// User is an operator account. PasswordHash is stored as given: hashing
// and checking passwords belongs to the authentication layer. The HTTP API
// never shows it, and a put without one keeps the stored one.
type User struct {
	Name         string   `json:"name"`
	Role         string   `json:"role"` // admin | engineer | operator | viewer
	PasswordHash string   `json:"password_hash,omitempty"`
	Allow        []string `json:"allow,omitempty"` // addresses or CIDR prefixes; empty: anywhere
	Disabled     bool     `json:"disabled,omitempty"`
}

// Policy is the replication of one node: Fragments and Mbps apply to its
// link towards its parent, TotalMbps to all its children's downloads
// together when it is a parent. Zero caps mean none.
type Policy struct {
	Node      string  `json:"node"`
	Fragments string  `json:"fragments"`
	Mbps      float64 `json:"mbps,omitempty"`
	TotalMbps float64 `json:"total_mbps,omitempty"`
}

// Records hand out copies: the catalogue they come from is shared by
// concurrent readers and must never change.

func (n Node) clone() Node {
	n.Addresses = slices.Clone(n.Addresses)
	n.Plugins = clonePlugins(n.Plugins)
	return n
}

func clonePlugins(ps []NodePlugin) []NodePlugin {
	if ps == nil {
		return nil
	}
	out := make([]NodePlugin, len(ps))
	for i, p := range ps {
		p.Args, p.Cameras, p.Events = slices.Clone(p.Args), slices.Clone(p.Cameras), slices.Clone(p.Events)
		out[i] = p
	}
	return out
}

func (c Camera) clone() Camera {
	c.Analytics.ANPR.ROI = slices.Clone(c.Analytics.ANPR.ROI)
	c.Analytics.ANPR.Countries = slices.Clone(c.Analytics.ANPR.Countries)
	if in := c.Analytics.ANPR.Ingest; in != nil {
		cp := *in
		cp.From = slices.Clone(in.From)
		c.Analytics.ANPR.Ingest = &cp
	}
	return c
}

func (z Zone) clone() Zone {
	z.Readers = slices.Clone(z.Readers)
	for i := range z.Readers {
		z.Readers[i].From = slices.Clone(z.Readers[i].From)
	}
	if b := z.Barrier; b != nil {
		cp := *b
		cp.Customs, cp.Owner = slices.Clone(b.Customs), slices.Clone(b.Owner)
		z.Barrier = &cp
	}
	return z
}

func (u User) clone() User {
	u.Allow = slices.Clone(u.Allow)
	return u
}
