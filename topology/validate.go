package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/kuzet/kuzet/netaddr"
	"github.com/kuzet/kuzet/record"
)

// IDs follow the node configuration (and certificate) rules: they appear in
// paths, URLs and certificate names.
var (
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	userPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	country     = regexp.MustCompile(`^[A-Z]{2}$`)
	zoneKind    = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
)

const (
	maxText          = 200 // names and descriptions
	maxAddresses     = 16
	maxAllow         = 64
	maxMbps          = 100000
	minRetentionDays = 30 // NVMS-6.10: never less than 30 days
	maxRetentionDays = 36500
)

func checkID(what, id string) error {
	if !idPattern.MatchString(id) {
		return invalidf("%s %q: use 1-64 letters, digits, '-' or '_'", what, id)
	}
	return nil
}

func checkText(what, s string) error {
	if len(s) > maxText {
		return invalidf("%s is %d bytes; the limit is %d", what, len(s), maxText)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return invalidf("%s holds a control character or invalid UTF-8", what)
		}
	}
	return nil
}

// check validates a command on its own, without the catalogue, and fills
// defaults. It is run where a command enters and again where it is applied,
// so it must be idempotent.
func (c *Command) check() error {
	payloads := 0
	for _, set := range []bool{c.Node != nil, c.Camera != nil, c.Zone != nil, c.User != nil, c.Policy != nil} {
		if set {
			payloads++
		}
	}
	put := func(set bool, what string) error {
		if !set || payloads != 1 {
			return invalidf("%s: give exactly one %s", c.Type, what)
		}
		if c.ID != "" || c.Site != "" {
			return invalidf("%s: id and site name what a delete removes; put the record itself", c.Type)
		}
		return nil
	}
	del := func() error {
		if payloads != 0 || c.Create {
			return invalidf("%s: a delete takes only an id", c.Type)
		}
		return nil
	}
	switch c.Type {
	case PutNode:
		if err := put(c.Node != nil, "node"); err != nil {
			return err
		}
		return c.Node.check()
	case PutCamera:
		if err := put(c.Camera != nil, "camera"); err != nil {
			return err
		}
		return c.Camera.check()
	case PutZone:
		if err := put(c.Zone != nil, "zone"); err != nil {
			return err
		}
		return c.Zone.check()
	case PutUser:
		if err := put(c.User != nil, "user"); err != nil {
			return err
		}
		return c.User.check()
	case PutPolicy:
		if err := put(c.Policy != nil, "policy"); err != nil {
			return err
		}
		return c.Policy.check()
	case DeleteNode, DeleteZone, DeletePolicy:
		if err := del(); err != nil {
			return err
		}
		if c.Site != "" {
			return invalidf("%s: site is only for cameras", c.Type)
		}
		return checkID(strings.TrimPrefix(string(c.Type), "delete_")+" id", c.ID)
	case DeleteCamera:
		if err := del(); err != nil {
			return err
		}
		if err := checkID("camera site", c.Site); err != nil {
			return err
		}
		return checkID("camera id", c.ID)
	case DeleteUser:
		if err := del(); err != nil {
			return err
		}
		if c.Site != "" {
			return invalidf("%s: site is only for cameras", c.Type)
		}
		if !userPattern.MatchString(c.ID) {
			return invalidf("user name %q: use 1-64 letters, digits, '.', '@', '-' or '_'", c.ID)
		}
		return nil
	case "":
		return invalidf("command has no type")
	}
	return invalidf("unknown command type %q", c.Type)
}

func roleRank(role string) int {
	switch role {
	case RoleSite:
		return 1
	case RoleRegion:
		return 2
	case RoleCentre:
		return 3
	}
	return 0
}

func (n *Node) check() error {
	if err := checkID("node id", n.ID); err != nil {
		return err
	}
	if roleRank(n.Role) == 0 {
		return invalidf("node %s: role must be centre, region or site (got %q)", n.ID, n.Role)
	}
	if n.Parent != "" {
		if err := checkID("node "+n.ID+": parent", n.Parent); err != nil {
			return err
		}
		if n.Parent == n.ID {
			return invalidf("node %s cannot be its own parent", n.ID)
		}
	}
	if n.Tier != "" {
		if err := checkID("node "+n.ID+": tier", n.Tier); err != nil {
			return err
		}
	}
	if err := checkText("node "+n.ID+": name", n.Name); err != nil {
		return err
	}
	n.Addresses = nilIfEmpty(n.Addresses)
	if len(n.Addresses) > maxAddresses {
		return invalidf("node %s: %d addresses; the limit is %d", n.ID, len(n.Addresses), maxAddresses)
	}
	for _, a := range n.Addresses {
		if err := checkHostPort(a); err != nil {
			return invalidf("node %s: address %q: %v", n.ID, a, err)
		}
	}
	fp := strings.ToLower(strings.ReplaceAll(n.CertFingerprint, ":", ""))
	if fp != "" {
		if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
			return invalidf("node %s: cert_fingerprint must be a SHA-256 in hex (64 digits)", n.ID)
		}
	}
	n.CertFingerprint = fp
	serial := strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(n.CertSerial, ":", ""), "0x"))
	if serial != "" {
		if _, err := hex.DecodeString(strings.Repeat("0", len(serial)%2) + serial); err != nil || len(serial) > 64 {
			return invalidf("node %s: cert_serial must be hex (as `kuzet pki issue` prints it)", n.ID)
		}
	}
	n.CertSerial = serial
	return checkPlugins(n.ID, n.Plugins)
}

// checkHostPort accepts host:port with a DNS name or an IP address.
func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return invalidf("port must be 1-65535")
	}
	if host == "" {
		return invalidf("missing host")
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if len(host) > 253 || strings.ContainsFunc(host, func(r rune) bool {
		return !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return invalidf("host is neither an IP address nor a DNS name")
	}
	return nil
}

func (c *Camera) check() error {
	if err := checkID("camera id", c.ID); err != nil {
		return err
	}
	if err := checkID("camera "+c.ID+": site", c.Site); err != nil {
		return err
	}
	what := "camera " + c.Key()
	if err := checkText(what+": name", c.Name); err != nil {
		return err
	}
	if len(c.URL) > 2048 {
		return invalidf("%s: url is longer than 2048 bytes", what)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return invalidf("%s: url must be an rtsp:// or rtsps:// URL with a host", what)
	}
	if c.PasswordSet != nil {
		_, has := u.User.Password()
		switch {
		case !*c.PasswordSet && has:
			return invalidf("%s: the url holds a password but password_set is false", what)
		case *c.PasswordSet && u.User.Username() == "":
			return invalidf("%s: password_set needs the user name in the url (rtsp://user@host/...)", what)
		}
	}
	if o := c.ONVIF; o != "" {
		ou, err := url.Parse(o)
		if err != nil || (ou.Scheme != "http" && ou.Scheme != "https") || ou.Host == "" || ou.User != nil {
			return invalidf("%s: onvif must be the camera's ONVIF device service, http://HOST/onvif/device_service, without a login (got %q)", what, o)
		}
	}
	if err := c.Record.check(what); err != nil {
		return err
	}
	if p := c.SubPath; p != "" && (!strings.HasPrefix(p, "/") || strings.ContainsAny(p, " #")) {
		return invalidf("%s: sub_path must be the sub-stream's path on the camera, e.g. /Streaming/Channels/102 (got %q)", what, p)
	}
	if c.Transport == "" {
		c.Transport = "tcp"
	}
	if c.Transport != "tcp" && c.Transport != "udp" {
		return invalidf("%s: transport must be tcp or udp (got %q)", what, c.Transport)
	}
	if c.Direction == "" {
		c.Direction = "entry"
	}
	switch c.Direction {
	case "entry", "exit", "auto":
	default:
		return invalidf("%s: direction must be entry, exit or auto (got %q)", what, c.Direction)
	}
	if c.Zone != "" {
		if err := checkID(what+": zone", c.Zone); err != nil {
			return err
		}
	}
	switch c.AllowedDirection {
	case "", "entry", "exit":
	default:
		return invalidf("%s: allowed_direction must be entry or exit, or empty for either (got %q)", what, c.AllowedDirection)
	}
	if c.AllowedDirection != "" && c.Direction != "" && c.Direction != "auto" && c.Direction != c.AllowedDirection {
		return invalidf("%s: direction %s labels every read so, and allowed_direction %s would make each a violation: use direction auto", what, c.Direction, c.AllowedDirection)
	}
	if err := checkText(what+": lane", c.Lane); err != nil {
		return err
	}
	if c.RetentionDays != 0 && (c.RetentionDays < minRetentionDays || c.RetentionDays > maxRetentionDays) {
		return invalidf("%s: retention_days must be 0 (the node's default) or %d-%d (got %d)", what, minRetentionDays, maxRetentionDays, c.RetentionDays)
	}
	a := &c.Analytics.ANPR
	a.ROI, a.Countries = nilIfEmpty(a.ROI), nilIfEmpty(a.Countries)
	if math.IsNaN(a.FPS) || a.FPS < 0 || a.FPS > 30 {
		return invalidf("%s: anpr fps must be between 0 and 30 (got %v)", what, a.FPS)
	}
	if len(a.ROI) != 0 && (len(a.ROI) != 4 || a.ROI[0] < 0 || a.ROI[1] < 0 || a.ROI[2] <= 0 || a.ROI[3] <= 0) {
		return invalidf("%s: anpr roi must be [x, y, width, height] with a positive size", what)
	}
	if len(a.Countries) > 32 {
		return invalidf("%s: at most 32 anpr countries", what)
	}
	for _, cc := range a.Countries {
		if !country.MatchString(cc) {
			return invalidf("%s: anpr country %q is not a two-letter code such as KZ", what, cc)
		}
	}
	switch a.Axis {
	case "", "down", "up", "left", "right":
	default:
		return invalidf("%s: anpr axis must be down, up, left or right (got %q)", what, a.Axis)
	}
	if c.Direction == "auto" && a.Enabled && a.Axis == "" {
		return invalidf("%s: direction auto needs anpr axis (how an entering vehicle moves)", what)
	}
	if a.Ingest != nil {
		return a.Ingest.check(what, u)
	}
	return nil
}

// check validates a camera's ingest and hashes a token given in clear, so
// that the change enters the catalogue's log with the hash only. A put
// with neither token nor hash keeps the stored one (see putCamera).
func (in *Ingest) check(what string, u *url.URL) error {
	in.TokenSet = nil // reads say it; a put does not
	switch in.Format {
	case "", "generic", "hikvision", "dahua":
	default:
		return invalidf("%s: anpr ingest format must be generic, hikvision or dahua, or left out to tell by each request (got %q)", what, in.Format)
	}
	if err := checkDevice(what+": anpr ingest", &in.Token, &in.TokenSHA256, &in.From); err != nil {
		return err
	}
	if len(in.From) == 0 {
		if _, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err != nil {
			return invalidf("%s: the url names the host %q: list the addresses the camera posts from in anpr ingest from", what, u.Hostname())
		}
	}
	return nil
}

// checkDevice checks the secret and source addresses of a device that
// posts to its site (a camera's own ANPR, a card reader): a token given in
// clear is replaced by its hash, so that the change enters the catalogue's
// log with the hash only.
func checkDevice(what string, token, hash *string, from *[]string) error {
	if *token != "" {
		if len(*token) < 16 || len(*token) > 256 || strings.ContainsFunc(*token, unicode.IsSpace) {
			return invalidf("%s token must be 16-256 characters without spaces, e.g. from 'openssl rand -hex 16'", what)
		}
		*hash, *token = IngestTokenHash(*token), ""
	}
	if *hash != "" {
		if b, err := hex.DecodeString(*hash); err != nil || len(b) != sha256.Size {
			return invalidf("%s token_sha256 must be 64 hex digits", what)
		}
		*hash = strings.ToLower(*hash)
	}
	if len(*from) > maxAllow {
		return invalidf("%s from: at most %d addresses", what, maxAllow)
	}
	if _, err := netaddr.ParsePrefixes(*from); err != nil {
		return invalidf("%s from: %v", what, err)
	}
	*from = nilIfEmpty(*from)
	return nil
}

// IngestTokenHash is how the catalogue keeps a camera's plate-event token.
func IngestTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (z *Zone) check() error {
	if err := checkID("zone id", z.ID); err != nil {
		return err
	}
	if z.Site != "" {
		if err := checkID("zone "+z.ID+": site", z.Site); err != nil {
			return err
		}
	}
	if err := checkText("zone "+z.ID+": name", z.Name); err != nil {
		return err
	}
	if z.DwellLimitMinutes < 0 || z.DwellLimitMinutes > 30*24*60 {
		return invalidf("zone %s: dwell_limit_minutes must be 0 (none) to %d (got %d)", z.ID, 30*24*60, z.DwellLimitMinutes)
	}
	if z.ReachWithinMinutes < 0 || z.ReachWithinMinutes > 30*24*60 {
		return invalidf("zone %s: reach_within_minutes must be 0 (none) to %d (got %d)", z.ID, 30*24*60, z.ReachWithinMinutes)
	}
	if z.Forbidden && z.ReachWithinMinutes != 0 {
		return invalidf("zone %s: a forbidden zone cannot be one vehicles must reach (reach_within_minutes)", z.ID)
	}
	if z.Kind != "" && !zoneKind.MatchString(z.Kind) {
		return invalidf("zone %s: kind must be a lower-case word such as entry, exit, weighing, xray, customs, inspection or waiting (got %q)", z.ID, z.Kind)
	}
	if (len(z.Readers) > 0 || z.Barrier != nil) && z.Site == "" {
		return invalidf("zone %s: readers and a barrier belong to a site: give the zone's site", z.ID)
	}
	if len(z.Readers) > 16 {
		return invalidf("zone %s: at most 16 readers", z.ID)
	}
	z.Readers = nilIfEmpty(z.Readers)
	ids := map[string]bool{}
	for i := range z.Readers {
		r := &z.Readers[i]
		what := fmt.Sprintf("zone %s: reader %q", z.ID, r.ID)
		if err := checkID(what+": id", r.ID); err != nil {
			return err
		}
		if ids[r.ID] {
			return invalidf("zone %s: two readers %s", z.ID, r.ID)
		}
		ids[r.ID] = true
		if err := r.check(what); err != nil {
			return err
		}
	}
	if b := z.Barrier; b != nil {
		if err := b.check("zone " + z.ID + ": barrier"); err != nil {
			return err
		}
		if ids[b.ID] {
			return invalidf("zone %s: barrier %s has a reader's id", z.ID, b.ID)
		}
	}
	return checkText("zone "+z.ID+": description", z.Description)
}

// check validates a reader and hashes a token given in clear (a put
// without one keeps the stored one: see putZone).
func (r *ZoneReader) check(what string) error {
	r.TokenSet = nil
	if err := checkDevice(what, &r.Token, &r.TokenSHA256, &r.From); err != nil {
		return err
	}
	if r.MaxSilenceSeconds < 0 || r.MaxSilenceSeconds > 86400 {
		return invalidf("%s: max_silence_seconds must be 0 (not watched) to 86400 (got %d)", what, r.MaxSilenceSeconds)
	}
	return nil
}

func (b *ZoneBarrier) check(what string) error {
	if err := checkID(what+": id", b.ID); err != nil {
		return err
	}
	u, err := url.Parse(b.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalidf("%s %s: url must be the http:// or https:// URL of its relay box (got %q)", what, b.ID, b.URL)
	}
	if u.User != nil {
		return invalidf("%s %s: url must carry no credentials (the catalogue does not keep them; give a relay that needs them in the site's file)", what, b.ID)
	}
	if b.TimeoutMS != 0 && (b.TimeoutMS < 100 || b.TimeoutMS > 60000) {
		return invalidf("%s %s: timeout_ms must be 100..60000, or 0 for 3 s (got %d)", what, b.ID, b.TimeoutMS)
	}
	if len(b.Customs) == 0 || len(b.Owner) == 0 {
		return invalidf("%s %s: the barrier opens on the permissions of customs and of the site owner: name who grants for each (customs, owner)", what, b.ID)
	}
	party := map[string]string{}
	for _, p := range []struct {
		name  string
		names []string
	}{{"customs", b.Customs}, {"owner", b.Owner}} {
		if len(p.names) > maxAllow {
			return invalidf("%s %s: at most %d names in %s", what, b.ID, maxAllow, p.name)
		}
		for _, n := range p.names {
			if n == "" || len(n) > 128 || strings.ContainsFunc(n, unicode.IsSpace) {
				return invalidf("%s %s: %s: %q is no principal (a user name, or token:NAME)", what, b.ID, p.name, n)
			}
			if o, ok := party[n]; ok && o != p.name {
				return invalidf("%s %s: %s grants for %s already: the two keys must be held by two parties", what, b.ID, n, o)
			}
			party[n] = p.name
		}
	}
	return nil
}

func (u *User) check() error {
	if !userPattern.MatchString(u.Name) {
		return invalidf("user name %q: use 1-64 letters, digits, '.', '@', '-' or '_'", u.Name)
	}
	switch u.Role {
	case UserAdmin, UserEngineer, UserOperator, UserViewer:
	default:
		return invalidf("user %s: role must be admin, engineer, operator or viewer (got %q)", u.Name, u.Role)
	}
	if len(u.PasswordHash) > 1024 || strings.ContainsFunc(u.PasswordHash, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return invalidf("user %s: password_hash must be printable ASCII without spaces, at most 1024 bytes", u.Name)
	}
	u.Allow = nilIfEmpty(u.Allow)
	if len(u.Allow) > maxAllow {
		return invalidf("user %s: %d allowed ranges; the limit is %d", u.Name, len(u.Allow), maxAllow)
	}
	if _, err := netaddr.ParsePrefixes(u.Allow); err != nil {
		return invalidf("user %s: allow%v", u.Name, err)
	}
	return nil
}

func (p *Policy) check() error {
	if err := checkID("policy node", p.Node); err != nil {
		return err
	}
	if p.Fragments == "" {
		p.Fragments = FragmentsAll
	}
	switch p.Fragments {
	case FragmentsAll, FragmentsReferenced, FragmentsNone:
	default:
		return invalidf("policy %s: fragments must be all, referenced or none (got %q)", p.Node, p.Fragments)
	}
	for _, v := range []struct {
		key string
		val float64
	}{{"mbps", p.Mbps}, {"total_mbps", p.TotalMbps}} {
		if math.IsNaN(v.val) || v.val < 0 || v.val > maxMbps {
			return invalidf("policy %s: %s must be between 0 (no cap) and %d (got %v)", p.Node, v.key, maxMbps, v.val)
		}
	}
	return nil
}

// nilIfEmpty makes an empty list nil, so that a record reads back equal
// after a JSON round trip (which drops empty lists).
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// check refuses a recording mode a node could not follow.
func (r *CameraRecord) check(what string) error {
	if r == nil {
		return nil
	}
	switch r.Mode {
	case record.ModeContinuous, record.ModeEvent:
	default:
		return invalidf("%s: record.mode must be continuous or event (got %q)", what, r.Mode)
	}
	if r.Sub != "" && r.Sub != "continuous" && r.Sub != "off" {
		return invalidf("%s: record.sub must be continuous or off (got %q)", what, r.Sub)
	}
	if r.PreSeconds < 0 || r.PreSeconds > 60 || r.PostSeconds < 0 || r.PostSeconds > 3600 {
		return invalidf("%s: record.pre_seconds must be 0..60 and post_seconds 0..3600", what)
	}
	for _, on := range r.On {
		if !slices.Contains(record.Causes, on) {
			return invalidf("%s: record.on: %q is no trigger (%s)", what, on, strings.Join(record.Causes, ", "))
		}
	}
	if len(r.Schedule) > 64 || len(r.MotionMask) > 64 {
		return invalidf("%s: record: at most 64 schedule windows and 64 mask rectangles", what)
	}
	for _, w := range r.Schedule {
		if _, err := record.ParseWindow(w); err != nil {
			return invalidf("%s: record.schedule: %v", what, err)
		}
	}
	if r.MotionFPS < 0 || r.MotionFPS > 25 || r.MotionThreshold < 0 || r.MotionThreshold >= 1 {
		return invalidf("%s: record.motion_fps must be 0..25 and motion_threshold 0..1", what)
	}
	for _, m := range r.MotionMask {
		if len(m) != 4 || m[0] < 0 || m[1] < 0 || m[2] <= 0 || m[3] <= 0 {
			return invalidf("%s: record.motion_mask: each rectangle is [x, y, width, height] in pixels (got %v)", what, m)
		}
	}
	return nil
}

// maxPlugins bounds a node's plugins in the catalogue.
const maxPlugins = 16

var pluginKind = regexp.MustCompile(`^[a-z][a-z0-9_.]{0,63}$`)

// checkPlugins checks the plugins the catalogue rolls out to a node.
func checkPlugins(node string, ps []NodePlugin) error {
	if len(ps) > maxPlugins {
		return invalidf("node %s: %d plugins; the limit is %d", node, len(ps), maxPlugins)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		what := "node " + node + ": plugin " + p.Name
		if err := checkID("node "+node+": plugin name", p.Name); err != nil {
			return err
		}
		if seen[p.Name] {
			return invalidf("node %s: plugin %s is named twice", node, p.Name)
		}
		seen[p.Name] = true
		if len(p.Args) > 32 {
			return invalidf("%s: %d args; the limit is 32", what, len(p.Args))
		}
		for _, a := range p.Args {
			if err := checkText(what+": arg", a); err != nil {
				return err
			}
		}
		for _, c := range p.Cameras {
			if err := checkID(what+": camera", c); err != nil {
				return err
			}
		}
		for _, k := range p.Events {
			if !pluginKind.MatchString(k) {
				return invalidf("%s: event kind %q", what, k)
			}
		}
		switch {
		case p.Format != "" && p.Format != "gray" && p.Format != "rgb24":
			return invalidf("%s: format must be gray or rgb24 (got %q)", what, p.Format)
		case p.FPS < 0 || p.FPS > 30:
			return invalidf("%s: fps must be between 0 and 30", what)
		case p.Every < 0 || p.Every > 250 || (p.Every > 1 && p.Keyframes):
			return invalidf("%s: every must be 1 to 250, and not with keyframes", what)
		case p.Connect != "" && !p.Remote:
			return invalidf("%s: connect is for a remote plugin", what)
		case p.Connect != "" && checkHostPort(p.Connect) != nil:
			return invalidf("%s: connect must be host:port", what)
		case p.Width < 0 || p.Height < 0 || p.Width > 3840 || p.Height > 2160:
			return invalidf("%s: width and height up to 3840x2160", what)
		case p.MemoryMB < 0 || p.EventsPerMinute < 0 || p.SnapshotKB < 0:
			return invalidf("%s: limits must not be negative", what)
		}
	}
	return nil
}
