// Package config holds the node configuration and its strict YAML loader:
// an unknown key or a bad value is an error naming the key and its line.
//
// It may import netaddr only: every other package reads its settings from
// here, never the other way.
package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kuzet/kuzet/netaddr"
)

// Config is one node's configuration (`kuzet run -c node.yaml`).
type Config struct {
	Node    Node     `yaml:"node"`
	Log     Log      `yaml:"log"`
	HTTP    HTTP     `yaml:"http"`
	Archive Archive  `yaml:"archive"`
	Cameras []Camera `yaml:"cameras"`
	Plugins []Plugin `yaml:"plugins"` // analytics plugins the node starts (docs/plugins.md)
	// PluginsDir holds the plugins the catalogue may roll out to this node,
	// each an executable named as the plugin (empty: the catalogue's are
	// not run here).
	PluginsDir string `yaml:"plugins_dir"`
	// PluginsListen is where remote plugins connect over mutual TLS with
	// the node's federation certificate (empty: no remote plugins).
	PluginsListen string     `yaml:"plugins_listen"`
	Federation    Federation `yaml:"federation"`
	ANPR          ANPR       `yaml:"anpr"`
	PlateAPI      PlateAPI   `yaml:"plate_api"`
	Users         []User     `yaml:"users"`
	Live          Live       `yaml:"live"`
	Topology      Topology   `yaml:"topology"`
	Alarms        Alarms     `yaml:"alarms"`
	RTSP          RTSP       `yaml:"rtsp"`
	SFTP          SFTP       `yaml:"sftp"`
	SFTPPush      SFTPPush   `yaml:"sftp_push"`
	Zones         []Zone     `yaml:"zones"`
	Checkpoint    Checkpoint `yaml:"checkpoint"`
	Seals         Seals      `yaml:"seals"`
	PTZ           PTZ        `yaml:"ptz"`
	Time          Time       `yaml:"time"`
	Events        Events     `yaml:"events"`
}

// PTZ holds the node's settings for turning cameras (NVMS-6.20).
type PTZ struct {
	// Lock is how long an operator's last command keeps a camera theirs:
	// another operator of the same or a lower role waits (default 30s).
	Lock Duration `yaml:"lock"`
}

// Zone is an area of the site its cameras watch (UA-3.1). The kinds entry
// and exit open and close vehicles' visits; other kinds (weighing, xray,
// customs, inspection, waiting, or the site's own) are passed through.
type Zone struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// DwellLimit is how long a vehicle may stay before a dwell_exceeded
	// alarm (0: no limit).
	DwellLimit Duration `yaml:"dwell_limit"`
	// Forbidden: a vehicle seen here is a violation (UA-3.4).
	Forbidden bool `yaml:"forbidden"`
	// ReachWithin: a vehicle that entered and has not been seen here this
	// long after is a violation (0: none).
	ReachWithin Duration `yaml:"reach_within"`
}

// PlateAPI is the external API every plate read is POSTed to (CGR-4.3).
type PlateAPI struct {
	URL        string   `yaml:"url"`         // empty: no push
	AuthHeader string   `yaml:"auth_header"` // e.g. "Authorization: Bearer ..."
	Timeout    Duration `yaml:"timeout"`     // per request (default 10s)
}

// ANPR holds node-wide plate-recognition settings.
type ANPR struct {
	Models string `yaml:"models"` // directory of the runtime and models (make anpr-deps)
	// Passages pair a tractor's front plate with its trailer's rear plate
	// read by two cameras (UA-3.3.1).
	Passages []Passage `yaml:"passages"`
	// ReviewBelow is the confidence (0..1) under which a read waits in the
	// uncertain-reads queue for an operator (UA-3.3.1; default 0.95, 0:
	// none). A pointer, so that a 0 written out differs from none given.
	ReviewBelow *float64 `yaml:"review_below"`
}

// DefaultReviewBelow is anpr.review_below when the file leaves it out.
const DefaultReviewBelow = 0.95

// ReviewThreshold is anpr.review_below, or its default.
func (a ANPR) ReviewThreshold() float64 {
	if a.ReviewBelow == nil {
		return DefaultReviewBelow
	}
	return *a.ReviewBelow
}

// Passage names the two cameras of one lane and how far apart in time
// their reads of one vehicle may be.
type Passage struct {
	Front  string   `yaml:"front"`
	Rear   string   `yaml:"rear"`
	Window Duration `yaml:"window"` // default 60s
}

// CameraANPR turns plate reading on for one camera.
type CameraANPR struct {
	Enabled   bool     `yaml:"enabled"`
	FPS       float64  `yaml:"fps"`            // frames analysed per second (default 5)
	Keyframes bool     `yaml:"keyframes_only"` // analyse keyframes only: cheapest
	ROI       []int    `yaml:"roi"`            // [x, y, width, height] in pixels; empty: whole frame
	Countries []string `yaml:"countries"`      // plate grammars to try first, e.g. [KZ, RU]
	Axis      string   `yaml:"axis"`           // down | up | left | right: how an entering vehicle moves
	// LaneDividers are lines in the frame ([x1, y1, x2, y2] in pixels) a
	// vehicle's plate may not cross: a read whose plate crossed one is a
	// violation_lane_divider (UA-3.4).
	LaneDividers [][]int `yaml:"lane_dividers"`
	// ScanSide is the coarse plate scan's longer side in pixels (default
	// 480); raise it for small plates in large frames.
	ScanSide int `yaml:"scan_side"`
	// Ingest takes the plate events of the camera's own ANPR (nil: none).
	Ingest *CameraIngest `yaml:"ingest"`
}

// CameraIngest lets a camera post its own plate reads to the node.
type CameraIngest struct {
	Format string `yaml:"format"` // generic | hikvision | dahua; empty: told by each request
	Token  string `yaml:"token"`  // the camera's secret, at least 16 characters
	// TokenSHA256 stands for Token (hex SHA-256 of it), so that the file
	// need not hold the secret; catalogue cameras come with it.
	TokenSHA256 string   `yaml:"token_sha256"`
	From        []string `yaml:"from"` // addresses or prefixes it posts from besides its URL's host
}

// TokenHash is the hex SHA-256 of the camera's token.
func (in CameraIngest) TokenHash() string {
	if in.TokenSHA256 != "" {
		return strings.ToLower(in.TokenSHA256)
	}
	h := sha256.Sum256([]byte(in.Token))
	return hex.EncodeToString(h[:])
}

// Federation places the node in the hierarchy: listen makes it a parent,
// upstream gives it one (NVMS-6.17).
type Federation struct {
	Listen        string    `yaml:"listen"`   // UDP address for child links (QUIC)
	Upstream      []string  `yaml:"upstream"` // parent replicas, tried in turn
	TLS           TLS       `yaml:"tls"`
	Revoked       []string  `yaml:"revoked"` // certificate serials (hex) refused on links
	Heartbeat     Duration  `yaml:"heartbeat"`
	LinkDownAfter Duration  `yaml:"link_down_after"`
	MaxClockSkew  Duration  `yaml:"max_clock_skew"`
	Fragments     Fragments `yaml:"fragments"`
	// Descendants names, per child, the nodes below it whose events it may
	// forward, for a parent that keeps no catalogue; with a catalogue, its
	// subtree counts too. A child may always send its own events.
	Descendants map[string][]string `yaml:"descendants"`
}

// Fragments is a parent's replication of its children's segment files
// (NVMS-6.7, NVMS-6.19).
type Fragments struct {
	Policy    string            `yaml:"policy"`     // all | referenced | none (default all)
	Children  map[string]string `yaml:"children"`   // per-child policy overrides
	ChildMbps float64           `yaml:"child_mbps"` // cap per child link, Mbit/s (default 20; 0: none)
	TotalMbps float64           `yaml:"total_mbps"` // cap over all parallel downloads, Mbit/s (default 50; 0: none)
	// Backfill is how far back the parent compares a child's index with its
	// own after every reconnect (default 7 days).
	Backfill Duration `yaml:"backfill"`
}

// PolicyFor returns the replication policy of one child.
func (f Fragments) PolicyFor(child string) string {
	if p, ok := f.Children[child]; ok {
		return p
	}
	return f.Policy
}

// TLS names the federation CA and this node's certificate and key.
type TLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Enabled reports whether the node takes part in a federation.
func (f Federation) Enabled() bool { return f.Listen != "" || len(f.Upstream) > 0 }

// Node identifies the node and where it keeps its state.
type Node struct {
	ID       string `yaml:"id"`
	DataDir  string `yaml:"data_dir"`
	TimeZone string `yaml:"time_zone"` // IANA name; archive paths use it (CGR-4.2c)
}

// Log selects the log format and level.
type Log struct {
	Format string `yaml:"format"` // text | json
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// HTTP is the listener for the API and /metrics.
type HTTP struct {
	Listen string   `yaml:"listen"`
	Allow  []string `yaml:"allow"` // CIDR prefixes or addresses allowed to connect
	// Hosts are the names and addresses clients reach the API by; a
	// request naming another in its Host header gets 421 (against DNS
	// rebinding). Default: the listen address (any address when it is a
	// wildcard), the machine's host name and the TLS certificate's names.
	// localhost and loopback addresses are always accepted.
	Hosts []string `yaml:"hosts"`
	// AdminFrom are the workstation ranges administrative actions are
	// accepted from (UA-3.8; default loopback).
	AdminFrom     []string      `yaml:"admin_from"`
	TLS           HTTPTLS       `yaml:"tls"`
	SecureCookie  bool          `yaml:"secure_cookie"`
	Session       Session       `yaml:"session"`
	LoginThrottle LoginThrottle `yaml:"login_throttle"`
}

// Archive configures the recorder's file archive (CGR-4.2, CGR-6, NVMS-6.10).
type Archive struct {
	Root          string     `yaml:"root"`
	Segment       Duration   `yaml:"segment"`
	MaxFileMB     int        `yaml:"max_file_mb"`
	MaxResolution Resolution `yaml:"max_resolution"`
	RetentionDays int        `yaml:"retention_days"`
	MinFreeGB     float64    `yaml:"min_free_gb"`
	// Group owns the archive's files (0640) and directories (0750), e.g.
	// kuzet, so that its members may read recordings; empty: the node's.
	Group string `yaml:"group"`
	// Store keeps a parent's replicas of its children's segments.
	Store Store `yaml:"store"`
}

// Camera is one RTSP source.
type Camera struct {
	ID            string   `yaml:"id"`
	URL           string   `yaml:"url"`
	Transport     string   `yaml:"transport"` // tcp | udp
	Direction     string   `yaml:"direction"` // entry | exit | auto
	Disabled      bool     `yaml:"disabled"`
	Tamper        Tamper   `yaml:"tamper"`
	RetentionDays int      `yaml:"retention_days"` // 0 = archive.retention_days
	OfflineAfter  Duration `yaml:"offline_after"`  // silence before camera-offline alarm
	Zone          string   `yaml:"zone"`           // the zone it watches (zones[].id)
	Lane          string   `yaml:"lane"`           // the lane it watches, for people
	// AllowedDirection is the lane's direction of travel: a vehicle read
	// going the other way is a violation (entry | exit; empty: either).
	AllowedDirection string     `yaml:"allowed_direction"`
	ANPR             CameraANPR `yaml:"anpr"`
	// SubPath is the path (and query) of the camera's sub-stream on the
	// same host with the same credentials ("/Streaming/Channels/102"):
	// small tiles of a live grid play it, pulled only while watched.
	SubPath string `yaml:"sub_path"`
	// ONVIF is the camera's ONVIF device service (http://HOST/onvif/device_service),
	// which PTZ commands go to with the login of URL; empty: no PTZ.
	ONVIF string `yaml:"onvif"`
	// Quality bounds what the stream may do before an alarm says so.
	Quality StreamQuality `yaml:"quality"`
	// Record is when the stream is recorded (default: always).
	Record Record `yaml:"record"`
}

// Record is when a camera's stream is recorded (NVMS-6.15): always, or
// on events and schedules with the seconds before each event kept.
type Record struct {
	Mode     string       `yaml:"mode"`     // continuous (default) | event
	Pre      Duration     `yaml:"pre"`      // kept before an event (default 10s, at most 60s)
	Post     Duration     `yaml:"post"`     // recorded after the last event (default 20s)
	On       []string     `yaml:"on"`       // motion, plate, alarm, api (default: all)
	Schedule []string     `yaml:"schedule"` // recorded throughout: "mon-fri 08:00-18:00" (node time zone)
	Motion   RecordMotion `yaml:"motion"`
	// Sub is the sub-stream's recording: continuous (the default of an
	// event-recorded camera with a sub_path) or off (the default otherwise).
	Sub string `yaml:"sub"`
}

// Sub-stream recording settings (Record.Sub).
const (
	SubContinuous = "continuous"
	SubOff        = "off"
)

// RecordMotion tunes motion detection for event recording.
type RecordMotion struct {
	FPS       float64 `yaml:"fps"`       // frames judged per second (default 3)
	Threshold float64 `yaml:"threshold"` // share of the picture that must change (default 0.01)
	Mask      [][]int `yaml:"mask"`      // [x, y, width, height] rectangles where nothing counts
}

// StreamQuality is the frame rate and packet loss a camera's stream must
// keep (UA-3.14, NVMS-1), judged over 10-second windows.
type StreamQuality struct {
	MinFPS        float64 `yaml:"min_fps"`         // default 3
	MaxFPS        float64 `yaml:"max_fps"`         // default 30
	MaxPacketLoss float64 `yaml:"max_packet_loss"` // percent of RTP packets, default 2
}

// OrDefaults fills the limits left zero.
func (q StreamQuality) OrDefaults() StreamQuality {
	if q.MinFPS == 0 {
		q.MinFPS = DefaultMinFPS
	}
	if q.MaxFPS == 0 {
		q.MaxFPS = DefaultMaxFPS
	}
	if q.MaxPacketLoss == 0 {
		q.MaxPacketLoss = DefaultMaxPacketLoss
	}
	return q
}

// Defaults of StreamQuality.
const (
	DefaultMinFPS        = 3
	DefaultMaxFPS        = 30
	DefaultMaxPacketLoss = 2
)

// SubStreamSuffix marks a camera's sub-stream in live keys
// ("Camera1~sub"); '~' is never part of a camera ID.
const SubStreamSuffix = "~sub"

// SubURL is the camera's sub-stream URL ("" without sub_path): its URL
// with the path and query replaced.
func (c Camera) SubURL() string {
	if c.SubPath == "" {
		return ""
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	p, q, _ := strings.Cut(c.SubPath, "?")
	u.Path, u.RawPath, u.RawQuery = p, "", q
	return u.String()
}

// RecordsSub reports whether the camera's sub-stream is recorded beside
// its main stream (NVMS-6.15): by default when the main stream is
// recorded only on events, so the timeline never goes dark between them.
func (c Camera) RecordsSub() bool {
	if c.SubPath == "" || c.Disabled {
		return false
	}
	switch c.Record.Sub {
	case SubContinuous:
		return true
	case SubOff:
		return false
	}
	return c.Record.Mode == "event"
}

// SubRecording is the camera as its recorded sub-stream: the key
// "Camera1~sub", the sub-stream's URL, recorded always and read by
// nothing else (no plates, no PTZ, no tamper checks).
func (c Camera) SubRecording() Camera {
	return Camera{ID: c.ID + SubStreamSuffix, URL: c.SubURL(), Transport: c.Transport,
		OfflineAfter: c.OfflineAfter, Quality: c.Quality, Zone: c.Zone}
}

// Defaults fill what a config leaves out.
const (
	DefaultHTTPListen    = "127.0.0.1:8080"
	DefaultSegment       = 5 * time.Minute
	DefaultMaxFileMB     = 50
	DefaultRetentionDays = 60
	DefaultMinFreeGB     = 5
	DefaultOfflineAfter  = 10 * time.Second
	minRetentionDays     = 30 // NVMS-6.10: never less than 30 days
)

// Federation defaults (README, Configuration reference).
const (
	// DefaultHeartbeat is the ping period: a child gives a silent parent
	// up after 2.5 of them and links to another replica.
	DefaultHeartbeat = time.Second
	// Fragment bandwidth caps, Mbit/s, when the file leaves them out; a
	// 0 written out means no cap (applyCapDefaults).
	DefaultChildMbps = 20
	DefaultTotalMbps = 50
)

func (c *Config) applyDefaults() {
	if c.Node.DataDir == "" {
		c.Node.DataDir = "./data"
	}
	if c.Node.TimeZone == "" {
		c.Node.TimeZone = "Local"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = DefaultHTTPListen
	}
	if len(c.HTTP.Allow) == 0 {
		c.HTTP.Allow = []string{"127.0.0.0/8", "::1/128"}
	}
	if c.Archive.Root == "" {
		c.Archive.Root = filepath.Join(c.Node.DataDir, "archive")
	}
	if c.Archive.Segment == 0 {
		c.Archive.Segment = Duration(DefaultSegment)
	}
	if c.Archive.MaxFileMB == 0 {
		c.Archive.MaxFileMB = DefaultMaxFileMB
	}
	if c.Archive.MaxResolution == (Resolution{}) {
		c.Archive.MaxResolution = Resolution{Width: 1280, Height: 720}
	}
	if c.Archive.RetentionDays == 0 {
		c.Archive.RetentionDays = DefaultRetentionDays
	}
	f := &c.Federation
	if f.Heartbeat == 0 {
		f.Heartbeat = Duration(DefaultHeartbeat)
	}
	if f.LinkDownAfter == 0 {
		f.LinkDownAfter = Duration(30 * time.Second)
	}
	if f.MaxClockSkew == 0 {
		f.MaxClockSkew = Duration(2 * time.Second)
	}
	c.Time.defaults()
	c.Events.defaults()
	if c.PlateAPI.Timeout == 0 {
		c.PlateAPI.Timeout = Duration(10 * time.Second)
	}
	if c.ANPR.Models == "" {
		c.ANPR.Models = ".cache/anpr"
	}
	if f.Fragments.Backfill == 0 {
		f.Fragments.Backfill = Duration(7 * 24 * time.Hour)
	}
	if f.Fragments.Policy == "" {
		f.Fragments.Policy = "all"
	}
	for i := range c.Cameras {
		cam := &c.Cameras[i]
		if cam.Transport == "" {
			cam.Transport = "tcp"
		}
		if cam.Direction == "" {
			cam.Direction = "entry"
		}
		if cam.OfflineAfter == 0 {
			cam.OfflineAfter = Duration(DefaultOfflineAfter)
		}
		if cam.ANPR.FPS == 0 {
			cam.ANPR.FPS = 5
		}
		cam.Quality = cam.Quality.OrDefaults()
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// validate checks values; lines maps a key path to its line for messages.
func (c *Config) validate(lines map[string]int, allowShortRetention bool) error {
	bad := func(key, format string, args ...any) error {
		return &KeyError{Key: key, Line: lines[key], Msg: fmt.Sprintf(format, args...)}
	}
	if !idPattern.MatchString(c.Node.ID) {
		return bad("node.id", "must be 1-64 letters, digits, '-' or '_' (got %q)", c.Node.ID)
	}
	if _, err := time.LoadLocation(c.Node.TimeZone); err != nil {
		return bad("node.time_zone", "unknown time zone %q", c.Node.TimeZone)
	}
	switch c.Log.Format {
	case "text", "json", "journal":
	default:
		return bad("log.format", "must be text, json or journal (got %q)", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "must be debug, info, warn or error (got %q)", c.Log.Level)
	}
	if _, err := netip.ParseAddrPort(c.HTTP.Listen); err != nil {
		return bad("http.listen", "must be address:port, e.g. 127.0.0.1:8080 (got %q)", c.HTTP.Listen)
	}
	for i, a := range c.HTTP.Allow {
		if _, err := netaddr.ParsePrefix(a); err != nil {
			return bad(fmt.Sprintf("http.allow[%d]", i), "%v", err)
		}
	}
	for i, h := range c.HTTP.Hosts {
		if err := checkHostName(h); err != nil {
			return bad(fmt.Sprintf("http.hosts[%d]", i), "%v", err)
		}
	}
	seg := time.Duration(c.Archive.Segment)
	if seg < time.Second || seg > time.Hour {
		return bad("archive.segment", "must be between 1s and 1h (got %v)", seg)
	}
	if c.Archive.MaxFileMB < 1 || c.Archive.MaxFileMB > 4096 {
		return bad("archive.max_file_mb", "must be between 1 and 4096 (got %d)", c.Archive.MaxFileMB)
	}
	if err := c.checkRetention("archive.retention_days", c.Archive.RetentionDays, allowShortRetention); err != "" {
		return bad("archive.retention_days", "%s", err)
	}
	if c.Archive.MinFreeGB < 0 {
		return bad("archive.min_free_gb", "must not be negative (got %v)", c.Archive.MinFreeGB)
	}
	if err := c.validateStore(bad); err != nil {
		return err
	}
	if err := c.validatePlugins(bad); err != nil {
		return err
	}
	if err := c.validateEvents(bad, allowShortRetention); err != nil {
		return err
	}
	if err := c.validateTime(bad); err != nil {
		return err
	}
	if err := c.validateFederation(bad); err != nil {
		return err
	}
	if err := c.validatePassages(bad); err != nil {
		return err
	}
	if v := c.ANPR.ReviewThreshold(); math.IsNaN(v) || v < 0 || v > 1 {
		return bad("anpr.review_below", "must be a confidence between 0 and 1, e.g. 0.9 for 90 %% (got %v)", v)
	}
	if err := c.validateSFTP(bad); err != nil {
		return err
	}
	if err := c.validateUsers(bad); err != nil {
		return err
	}
	if err := c.validateLive(bad); err != nil {
		return err
	}
	if err := c.validateTopology(bad); err != nil {
		return err
	}
	if err := c.validateAlarms(bad); err != nil {
		return err
	}
	if err := c.validateSeals(bad); err != nil {
		return err
	}
	if c.PTZ.Lock == 0 {
		c.PTZ.Lock = Duration(30 * time.Second)
	}
	if c.PTZ.Lock < Duration(time.Second) || c.PTZ.Lock > Duration(time.Hour) {
		return bad("ptz.lock", "must be between 1s and 1h (got %v)", time.Duration(c.PTZ.Lock))
	}
	if u := c.PlateAPI.URL; u != "" {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return bad("plate_api.url", "must be an http:// or https:// URL (got %q)", u)
		}
	}
	if h := c.PlateAPI.AuthHeader; h != "" && !strings.Contains(h, ":") {
		return bad("plate_api.auth_header", "must be \"Name: value\"")
	}
	zones, err := c.validateZones(bad)
	if err != nil {
		return err
	}
	if err := c.validateCheckpoint(zones, bad); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range c.Cameras {
		cam := &c.Cameras[i]
		key := func(k string) string { return fmt.Sprintf("cameras[%d].%s", i, k) }
		if !idPattern.MatchString(cam.ID) {
			return bad(key("id"), "must be 1-64 letters, digits, '-' or '_' (got %q)", cam.ID)
		}
		if seen[cam.ID] {
			return bad(key("id"), "duplicate camera id %q", cam.ID)
		}
		seen[cam.ID] = true
		u, err := url.Parse(cam.URL)
		if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
			return bad(key("url"), "must be an rtsp:// or rtsps:// URL with a host (camera %s)", cam.ID)
		}
		if o := cam.ONVIF; o != "" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				return bad(key("onvif"), "must be the camera's ONVIF device service, http://HOST/onvif/device_service, without a login (the url's is used) (got %q)", o)
			}
		}
		if p := cam.SubPath; p != "" {
			if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " #") {
				return bad(key("sub_path"), "must be the sub-stream's path on the camera, e.g. /Streaming/Channels/102 (camera %s, got %q)", cam.ID, p)
			}
		}
		switch cam.Transport {
		case "tcp", "udp":
		default:
			return bad(key("transport"), "must be tcp or udp (camera %s, got %q)", cam.ID, cam.Transport)
		}
		switch cam.Direction {
		case "entry", "exit", "auto":
		default:
			return bad(key("direction"), "must be entry, exit or auto (camera %s, got %q)", cam.ID, cam.Direction)
		}
		if cam.RetentionDays != 0 {
			if err := c.checkRetention(key("retention_days"), cam.RetentionDays, allowShortRetention); err != "" {
				return bad(key("retention_days"), "%s (camera %s)", err, cam.ID)
			}
		}
		if d := time.Duration(cam.OfflineAfter); d < time.Second {
			return bad(key("offline_after"), "must be at least 1s (camera %s, got %v)", cam.ID, d)
		}
		if err := validateRecord(cam.Record, func(k string) string { return key("record." + k) }, cam.ID, bad); err != nil {
			return err
		}
		if cam.Record.Sub == SubContinuous && cam.SubPath == "" {
			return bad(key("record.sub"), "records the sub-stream, so the camera needs sub_path (camera %s)", cam.ID)
		}
		if q := cam.Quality; q.MinFPS < 0 || q.MaxFPS > 240 || q.MinFPS >= q.MaxFPS {
			return bad(key("quality"), "min_fps and max_fps must satisfy 0 <= min_fps < max_fps <= 240 (camera %s, got %v and %v)", cam.ID, q.MinFPS, q.MaxFPS)
		} else if q.MaxPacketLoss < 0 || q.MaxPacketLoss > 100 {
			return bad(key("quality.max_packet_loss"), "is a percentage, 0..100 (camera %s, got %v)", cam.ID, q.MaxPacketLoss)
		}
		if cam.Zone != "" && !zones[cam.Zone] {
			return bad(key("zone"), "unknown zone %q: list it under zones (camera %s)", cam.Zone, cam.ID)
		}
		switch cam.AllowedDirection {
		case "", "entry", "exit":
		default:
			return bad(key("allowed_direction"), "must be entry or exit, or left out for either (camera %s, got %q)", cam.ID, cam.AllowedDirection)
		}
		if cam.AllowedDirection != "" && cam.Direction != "auto" && cam.Direction != cam.AllowedDirection {
			return bad(key("allowed_direction"), "camera %s labels every read %s (direction), so every read would go against its lane: set direction: auto to tell them apart", cam.ID, cam.Direction)
		}
		if len(cam.Lane) > 64 {
			return bad(key("lane"), "is longer than 64 bytes (camera %s)", cam.ID)
		}
		an := cam.ANPR
		if an.FPS < 0 || an.FPS > 30 {
			return bad(key("anpr.fps"), "must be between 0 and 30 (camera %s, got %v)", cam.ID, an.FPS)
		}
		if len(an.ROI) != 0 && (len(an.ROI) != 4 || an.ROI[0] < 0 || an.ROI[1] < 0 || an.ROI[2] <= 0 || an.ROI[3] <= 0) {
			return bad(key("anpr.roi"), "must be [x, y, width, height] with a positive size (camera %s)", cam.ID)
		}
		for j, d := range an.LaneDividers {
			if len(d) != 4 || d[0] < 0 || d[1] < 0 || d[2] < 0 || d[3] < 0 || (d[0] == d[2] && d[1] == d[3]) {
				return bad(fmt.Sprintf("%s[%d]", key("anpr.lane_dividers"), j), "must be [x1, y1, x2, y2]: two different points of the frame, in pixels (camera %s)", cam.ID)
			}
		}
		if an.ScanSide != 0 && (an.ScanSide < 160 || an.ScanSide > 1920) {
			return bad(key("anpr.scan_side"), "must be 160..1920 pixels (camera %s, got %d)", cam.ID, an.ScanSide)
		}
		switch an.Axis {
		case "", "down", "up", "left", "right":
		default:
			return bad(key("anpr.axis"), "must be down, up, left or right (camera %s, got %q)", cam.ID, an.Axis)
		}
		if cam.Direction == "auto" && an.Enabled && an.Axis == "" {
			return bad(key("anpr.axis"), "direction: auto needs the axis an entering vehicle moves along (camera %s)", cam.ID)
		}
		if err := c.validateIngest(bad, key, i); err != nil {
			return err
		}
	}
	return nil
}

// validateIngest checks a camera's anpr.ingest: a token of its own, and
// addresses to take its events from.
func (c *Config) validateIngest(bad func(key, format string, args ...any) error, key func(string) string, i int) error {
	cam := c.Cameras[i]
	in := cam.ANPR.Ingest
	if in == nil {
		return nil
	}
	switch in.Format {
	case "", "generic", "hikvision", "dahua":
	default:
		return bad(key("anpr.ingest.format"), "must be generic, hikvision or dahua, or left out to tell by each request (camera %s, got %q)", cam.ID, in.Format)
	}
	switch {
	case in.Token != "" && in.TokenSHA256 != "":
		return bad(key("anpr.ingest.token_sha256"), "give the token or its hash, not both (camera %s)", cam.ID)
	case in.TokenSHA256 != "":
		if b, err := hex.DecodeString(in.TokenSHA256); err != nil || len(b) != sha256.Size {
			return bad(key("anpr.ingest.token_sha256"), "must be 64 hex digits, e.g. from 'printf %%s TOKEN | sha256sum' (camera %s)", cam.ID)
		}
	case len(in.Token) < 16 || strings.ContainsAny(in.Token, " \t\r\n"):
		return bad(key("anpr.ingest.token"), "required: at least 16 characters without spaces, e.g. from 'openssl rand -hex 16' (camera %s)", cam.ID)
	}
	for _, o := range c.Cameras[:i] {
		if o.ANPR.Ingest != nil && o.ANPR.Ingest.TokenHash() == in.TokenHash() {
			return bad(key("anpr.ingest.token"), "camera %s has the same token as camera %s; each camera needs its own", cam.ID, o.ID)
		}
	}
	for j, f := range in.From {
		if _, err := netaddr.ParsePrefix(f); err != nil {
			return bad(fmt.Sprintf("%s[%d]", key("anpr.ingest.from"), j), "%v (camera %s)", err, cam.ID)
		}
	}
	if u, err := url.Parse(cam.URL); err == nil && len(in.From) == 0 {
		if _, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err != nil {
			return bad(key("anpr.ingest.from"), "camera %s's URL names the host %q: list the addresses the camera posts from", cam.ID, u.Hostname())
		}
	}
	return nil
}

func (c *Config) validatePassages(bad func(key, format string, args ...any) error) error {
	cams := map[string]bool{}
	for _, cam := range c.Cameras {
		cams[cam.ID] = true
	}
	used := map[string]bool{}
	for i := range c.ANPR.Passages {
		p := &c.ANPR.Passages[i]
		key := func(k string) string { return fmt.Sprintf("anpr.passages[%d].%s", i, k) }
		for _, side := range []struct{ k, cam string }{{"front", p.Front}, {"rear", p.Rear}} {
			if !cams[side.cam] {
				return bad(key(side.k), "names no configured camera (got %q)", side.cam)
			}
			if used[side.cam] {
				return bad(key(side.k), "camera %s is already in a passage", side.cam)
			}
			used[side.cam] = true
		}
		if p.Window == 0 {
			p.Window = Duration(time.Minute)
		}
		if d := p.Window.Std(); d < time.Second || d > time.Hour {
			return bad(key("window"), "must be between 1s and 1h (got %v)", d)
		}
	}
	return nil
}

func (c *Config) validateFederation(bad func(key, format string, args ...any) error) error {
	f := c.Federation
	if f.Listen != "" {
		if _, err := netip.ParseAddrPort(f.Listen); err != nil {
			return bad("federation.listen", "must be address:port, e.g. 0.0.0.0:7443 (got %q)", f.Listen)
		}
	}
	for i, u := range f.Upstream {
		if _, port, err := net.SplitHostPort(u); err != nil || port == "" {
			return bad(fmt.Sprintf("federation.upstream[%d]", i), "must be host:port (got %q)", u)
		}
	}
	if f.Enabled() {
		for _, kv := range [][2]string{{"federation.tls.ca", f.TLS.CA}, {"federation.tls.cert", f.TLS.Cert}, {"federation.tls.key", f.TLS.Key}} {
			if kv[1] == "" {
				return bad(kv[0], "required when federation.listen or federation.upstream is set (see 'kuzet pki')")
			}
		}
	}
	if d := f.Heartbeat.Std(); d < 100*time.Millisecond || d > time.Minute {
		return bad("federation.heartbeat", "must be between 100ms and 1m (got %v)", d)
	}
	if f.LinkDownAfter.Std() < f.Heartbeat.Std() {
		return bad("federation.link_down_after", "must be at least the heartbeat (%v)", f.Heartbeat.Std())
	}
	okPolicy := func(p string) bool { return p == "all" || p == "referenced" || p == "none" }
	if !okPolicy(f.Fragments.Policy) {
		return bad("federation.fragments.policy", "must be all, referenced or none (got %q)", f.Fragments.Policy)
	}
	for child, p := range f.Fragments.Children {
		if !okPolicy(p) {
			return bad("federation.fragments.children."+child, "must be all, referenced or none (got %q)", p)
		}
	}
	if f.Fragments.ChildMbps < 0 || f.Fragments.TotalMbps < 0 {
		return bad("federation.fragments", "bandwidth caps must not be negative")
	}
	for child, ids := range f.Descendants {
		if !idPattern.MatchString(child) {
			return bad("federation.descendants", "%q is not a node ID", child)
		}
		for i, id := range ids {
			if !idPattern.MatchString(id) {
				return bad(fmt.Sprintf("federation.descendants.%s[%d]", child, i), "%q is not a node ID", id)
			}
		}
	}
	return nil
}

func (c *Config) checkRetention(_ string, days int, allowShort bool) string {
	if days < 1 || days > 3650 {
		return fmt.Sprintf("must be between 1 and 3650 days (got %d)", days)
	}
	if days < minRetentionDays && !allowShort {
		return fmt.Sprintf("must be at least %d days (NVMS-6.10; got %d)", minRetentionDays, days)
	}
	return ""
}

// Location returns the node's time zone (validated on load).
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Node.TimeZone)
	if err != nil {
		return time.Local
	}
	return loc
}

// RetentionFor returns the retention of one camera.
func (c *Config) RetentionFor(cam Camera) time.Duration {
	days := cam.RetentionDays
	if days == 0 {
		days = c.Archive.RetentionDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// zoneKind is a zone's kind: a lower-case word.
var zoneKind = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// validateZones checks zones and returns their IDs.
func (c *Config) validateZones(bad func(key, format string, args ...any) error) (map[string]bool, error) {
	ids := map[string]bool{}
	for i, z := range c.Zones {
		key := func(k string) string { return fmt.Sprintf("zones[%d].%s", i, k) }
		if !idPattern.MatchString(z.ID) {
			return nil, bad(key("id"), "must be 1-64 letters, digits, '-' or '_' (got %q)", z.ID)
		}
		if ids[z.ID] {
			return nil, bad(key("id"), "duplicate zone id %q", z.ID)
		}
		ids[z.ID] = true
		if z.Kind != "" && !zoneKind.MatchString(z.Kind) {
			return nil, bad(key("kind"), "must be a lower-case word such as entry, exit, weighing, xray, customs, inspection or waiting (zone %s, got %q)", z.ID, z.Kind)
		}
		if len(z.Name) > 200 {
			return nil, bad(key("name"), "is longer than 200 bytes (zone %s)", z.ID)
		}
		if d := z.DwellLimit.Std(); d != 0 && (d < time.Second || d > 30*24*time.Hour) {
			return nil, bad(key("dwell_limit"), "must be 1s..720h, or 0 for none (zone %s, got %v)", z.ID, d)
		}
		if d := z.ReachWithin.Std(); d != 0 && (d < time.Second || d > 30*24*time.Hour) {
			return nil, bad(key("reach_within"), "must be 1s..720h, or 0 for none (zone %s, got %v)", z.ID, d)
		}
		if z.Forbidden && z.ReachWithin != 0 {
			return nil, bad(key("reach_within"), "a forbidden zone cannot be one vehicles must reach (zone %s)", z.ID)
		}
	}
	return ids, nil
}

// CheckCameras validates a camera list that arrives while the node runs
// (the catalogue's slice, with the zones its cameras name) as if it were
// in the file, with defaults filled; it returns the cameras and every
// zone, the file's first.
func (c *Config) CheckCameras(cams []Camera, zones []Zone) ([]Camera, []Zone, error) {
	c2 := *c
	c2.Zones = append([]Zone(nil), c.Zones...)
	have := map[string]bool{}
	for _, z := range c.Zones {
		have[z.ID] = true
	}
	for _, z := range zones {
		if !have[z.ID] {
			have[z.ID] = true
			c2.Zones = append(c2.Zones, z)
		}
	}
	c2.Cameras = append([]Camera(nil), cams...)
	c2.applyDefaults()
	if err := c2.validate(map[string]int{}, true); err != nil {
		return nil, nil, err
	}
	return c2.Cameras, c2.Zones, nil
}

// hostName is a DNS name as a Host header carries it.
var hostName = regexp.MustCompile(`^(?i)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$`)

// checkHostName accepts a host name or an IP address, without a port.
func checkHostName(h string) error {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return nil
	}
	if len(h) > 253 || !hostName.MatchString(h) {
		return fmt.Errorf("%q: want a host name (kuzet.example) or an IP address, without scheme or port", h)
	}
	return nil
}

// validateRecord checks a camera's recording mode; the schedule's windows
// are parsed where they are used (package record) and refused there.
func validateRecord(r Record, key func(string) string, camera string, bad func(key, format string, args ...any) error) error {
	switch r.Mode {
	case "", "continuous", "event":
	default:
		return bad(key("mode"), "must be continuous or event (camera %s, got %q)", camera, r.Mode)
	}
	switch r.Sub {
	case "", SubContinuous, SubOff:
	default:
		return bad(key("sub"), "must be continuous or off (camera %s, got %q)", camera, r.Sub)
	}
	if p := r.Pre.Std(); p < 0 || p > time.Minute {
		return bad(key("pre"), "must be 0..60s (camera %s, got %v)", camera, p)
	}
	if p := r.Post.Std(); p < 0 || p > time.Hour {
		return bad(key("post"), "must be 0..1h (camera %s, got %v)", camera, p)
	}
	for _, on := range r.On {
		switch on {
		case "motion", "plate", "alarm", "api":
		default:
			return bad(key("on"), "%q is no trigger: motion, plate, alarm or api (camera %s)", on, camera)
		}
	}
	if m := r.Motion; m.FPS < 0 || m.FPS > 25 || m.Threshold < 0 || m.Threshold >= 1 {
		return bad(key("motion"), "fps must be 0..25 and threshold 0..1 (camera %s, got %v and %v)", camera, m.FPS, m.Threshold)
	}
	for _, rect := range r.Motion.Mask {
		if len(rect) != 4 || rect[0] < 0 || rect[1] < 0 || rect[2] <= 0 || rect[3] <= 0 {
			return bad(key("motion.mask"), "each rectangle is [x, y, width, height] in pixels (camera %s, got %v)", camera, rect)
		}
	}
	return nil
}
