package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const good = `node:
  id: khorgos-1
  data_dir: /tmp/kuzet
  time_zone: Asia/Almaty
http:
  listen: 127.0.0.1:8080
  allow: [127.0.0.0/8, "::1"]
archive:
  segment: 5m
  max_file_mb: 50
  max_resolution: 1280x720
  retention_days: 60
cameras:
  - id: Camera1
    url: rtsp://user:pass@10.0.0.5:554/Streaming/Channels/102
    transport: tcp
    direction: entry
  - id: Camera2
    url: rtsp://10.0.0.6/sub
    transport: udp
    retention_days: 90
`

func TestParseGood(t *testing.T) {
	c, err := Parse([]byte(good), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Archive.Segment.Std() != 5*time.Minute || c.Archive.MaxResolution != (Resolution{1280, 720}) {
		t.Fatalf("archive = %+v", c.Archive)
	}
	if c.Archive.Root != "/tmp/kuzet/archive" {
		t.Fatalf("default root = %q", c.Archive.Root)
	}
	if got := c.RetentionFor(c.Cameras[1]); got != 90*24*time.Hour {
		t.Fatalf("camera retention = %v", got)
	}
	if got := c.RetentionFor(c.Cameras[0]); got != 60*24*time.Hour {
		t.Fatalf("default retention = %v", got)
	}
	if c.Cameras[0].OfflineAfter.Std() != DefaultOfflineAfter {
		t.Fatalf("offline_after default = %v", c.Cameras[0].OfflineAfter)
	}
	if c.Location().String() != "Asia/Almaty" {
		t.Fatalf("location = %v", c.Location())
	}
}

// Every bad input names the key and its line.
func TestParseErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, edit, key string
		line            int
	}{
		{"unknown top key", "node:\n", "nodes", 1},
		{"unknown camera key", "    transport: tcp\n    direction: entry\n", "cameras[0].colour", 17},
		{"bad duration", "  segment: 5m\n", "archive.segment", 9},
		{"bad resolution", "  max_resolution: 1280x720\n", "archive.max_resolution", 11},
		{"bad int", "  max_file_mb: 50\n", "archive.max_file_mb", 10},
		{"bad transport", "    transport: udp\n", "cameras[1].transport", 20},
		{"bad url", "    url: rtsp://10.0.0.6/sub\n", "cameras[1].url", 19},
		{"short retention", "  retention_days: 60\n", "archive.retention_days", 12},
		{"bad zone", "  time_zone: Asia/Almaty\n", "node.time_zone", 4},
		{"bad allow", "  allow: [127.0.0.0/8, \"::1\"]\n", "http.allow[1]", 7},
	}
	repl := map[string]string{
		"unknown top key":    "nodes:\n",
		"unknown camera key": "    transport: tcp\n    colour: red\n",
		"bad duration":       "  segment: five minutes\n",
		"bad resolution":     "  max_resolution: huge\n",
		"bad int":            "  max_file_mb: lots\n",
		"bad transport":      "    transport: carrier-pigeon\n",
		"bad url":            "    url: http://10.0.0.6/sub\n",
		"short retention":    "  retention_days: 7\n",
		"bad zone":           "  time_zone: Mars/Olympus\n",
		"bad allow":          "  allow: [127.0.0.0/8, \"not-an-ip\"]\n",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(good, tc.edit, repl[tc.name], 1)
			if src == good {
				t.Fatalf("edit %q not applied", tc.edit)
			}
			_, err := Parse([]byte(src), Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("error %q does not name a key", err)
			}
			if ke.Key != tc.key || ke.Line != tc.line {
				t.Fatalf("got key %q line %d (%v), want %q line %d", ke.Key, ke.Line, err, tc.key, tc.line)
			}
		})
	}
}

func TestDuplicateCamera(t *testing.T) {
	src := strings.Replace(good, "id: Camera2", "id: Camera1", 1)
	_, err := Parse([]byte(src), Options{})
	if err == nil || !strings.Contains(err.Error(), "duplicate camera id") {
		t.Fatalf("err = %v", err)
	}
}

func TestShortRetentionAllowedForTests(t *testing.T) {
	src := strings.Replace(good, "retention_days: 60", "retention_days: 1", 1)
	if _, err := Parse([]byte(src), Options{AllowShortRetention: true}); err != nil {
		t.Fatal(err)
	}
}

func TestEmptyAndMultiDoc(t *testing.T) {
	if _, err := Parse(nil, Options{}); err == nil {
		t.Fatal("empty accepted")
	}
	if _, err := Parse([]byte(good+"---\nnode: {id: x}\n"), Options{}); err == nil {
		t.Fatal("second document accepted")
	}
	if _, err := Parse([]byte("- a\n- b\n"), Options{}); err == nil {
		t.Fatal("list at top accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("node: {id: a}\ncameras: [{id: c, url: 'rtsp://h/x'}]\n"))
	f.Add([]byte("archive:\n  segment: [1, 2]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b, Options{})
		if err == nil && c.Node.ID == "" {
			t.Fatal("accepted a config without node.id")
		}
	})
}

func TestFederationKeys(t *testing.T) {
	base := "node: {id: site-1}\n"
	cases := []struct{ yaml, key string }{
		{"federation: {upstream: [region-a1:7443]}\n", "federation.tls.ca"},
		{"federation: {upstream: [region-a1], tls: {ca: a, cert: b, key: c}}\n", "federation.upstream[0]"},
		{"federation: {listen: nowhere, tls: {ca: a, cert: b, key: c}}\n", "federation.listen"},
		{"federation: {heartbeat: 1h}\n", "federation.heartbeat"},
		{"federation: {heartbeat: 10s, link_down_after: 5s}\n", "federation.link_down_after"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(base+c.yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != c.key {
			t.Errorf("%q: %v, want an error naming %s", c.yaml, err, c.key)
		}
	}
	c, err := Parse([]byte(base+"federation: {upstream: [\"region-a1:7443\", \"10.0.0.2:7443\"], tls: {ca: a, cert: b, key: c}}\n"), Options{})
	if err != nil || !c.Federation.Enabled() || c.Federation.Heartbeat.Std() != time.Second {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestFragmentPolicies(t *testing.T) {
	c, err := Parse([]byte("node: {id: region}\nfederation:\n  fragments:\n    policy: none\n    children: {site-1: all}\n    total_mbps: 50\n"), Options{})
	if err != nil || c.Federation.Fragments.PolicyFor("site-1") != "all" || c.Federation.Fragments.PolicyFor("site-2") != "none" {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = Parse([]byte("node: {id: region}\nfederation:\n  fragments:\n    children: {site-1: some}\n"), Options{})
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "federation.fragments.children.site-1" || ke.Line != 4 {
		t.Fatalf("bad child policy: %v", err)
	}
}

func TestPlateAPIKeys(t *testing.T) {
	for yaml, key := range map[string]string{
		"plate_api: {url: ftp://x/y}\n":                              "plate_api.url",
		"plate_api: {url: 'https://x/y', auth_header: Bearer abc}\n": "plate_api.auth_header",
	} {
		_, err := Parse([]byte("node: {id: a}\n"+yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
}

func TestPassageKeys(t *testing.T) {
	base := "node: {id: a}\ncameras: [{id: F, url: 'rtsp://h/1'}, {id: R, url: 'rtsp://h/2'}]\n"
	c, err := Parse([]byte(base+"anpr: {passages: [{front: F, rear: R}]}\n"), Options{})
	if err != nil || c.ANPR.Passages[0].Window.Std() != time.Minute {
		t.Fatalf("%+v %v", c, err)
	}
	for yaml, key := range map[string]string{
		"anpr: {passages: [{front: X, rear: R}]}\n":              "anpr.passages[0].front",
		"anpr: {passages: [{front: F, rear: F}]}\n":              "anpr.passages[0].rear",
		"anpr: {passages: [{front: F, rear: R, window: 2h}]}\n":  "anpr.passages[0].window",
		"anpr: {passages: [{front: F, rear: R, windw: 2s}]}\n":   "anpr.passages[0].windw",
		"anpr: {passages: [{front: F, rear: R}, {front: R}]}\n":  "anpr.passages[1].front",
		"anpr: {passages: [{front: F, rear: R, window: -1s}]}\n": "anpr.passages[0].window",
	} {
		_, err := Parse([]byte(base+yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
}

func TestSFTPKeys(t *testing.T) {
	base := "node: {id: a, data_dir: /d}\n"
	c, err := Parse([]byte(base+"sftp: {listen: ':2222', accounts: [{name: au, keys: ['ssh-ed25519 AAAA']}]}\n"), Options{})
	if err != nil || c.SFTP.HostKey != "/d/sftp_host_ed25519" || c.SFTP.MaxSessions != 8 {
		t.Fatalf("%+v %v", c.SFTP, err)
	}
	for yaml, key := range map[string]string{
		"sftp: {listen: nope}\n":  "sftp.listen",
		"sftp: {listen: ':22'}\n": "sftp.accounts",
		"sftp: {listen: ':22', accounts: [{name: 'a b', keys: [k]}]}\n":                       "sftp.accounts[0].name",
		"sftp: {listen: ':22', accounts: [{name: a, password_hash: secret}]}\n":               "sftp.accounts[0].password_hash",
		"sftp: {listen: ':22', accounts: [{name: a}]}\n":                                      "sftp.accounts[0].password_hash",
		"sftp: {listen: ':22', accounts: [{name: a, keys: [k], allow: [10.0.0.0/33]}]}\n":     "sftp.accounts[0].allow",
		"sftp_push: {host: h, user: u, key: k, root: /r}\n":                                   "sftp_push.known_host_key",
		"sftp_push: {host: h, user: u, known_host_key: x, root: /r}\n":                        "sftp_push.key",
		"sftp_push: {host: h, user: u, key: k, known_host_key: x, root: rel}\n":               "sftp_push.root",
		"sftp_push: {host: h, user: u, key: k, known_host_key: x, root: /r, port: 0x10000}\n": "sftp_push.port",
	} {
		_, err := Parse([]byte(base+yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
}

// The federation defaults are those the README's Configuration reference
// shows; a cap written as 0 means no cap, one left out or empty the default.
func TestFederationDefaults(t *testing.T) {
	c, err := Parse([]byte("node: {id: site-1}\nfederation:\n  upstream: [region-a1:7443]\n  tls: {ca: a, cert: b, key: c}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Federation
	for _, d := range []struct {
		key       string
		got, want any
	}{
		{"heartbeat", f.Heartbeat.Std(), time.Second},
		{"link_down_after", f.LinkDownAfter.Std(), 30 * time.Second},
		{"max_clock_skew", f.MaxClockSkew.Std(), 2 * time.Second},
		{"fragments.policy", f.Fragments.Policy, "all"},
		{"fragments.backfill", f.Fragments.Backfill.Std(), 168 * time.Hour},
		{"fragments.child_mbps", f.Fragments.ChildMbps, 20.0},
		{"fragments.total_mbps", f.Fragments.TotalMbps, 50.0},
	} {
		if d.got != d.want {
			t.Errorf("federation.%s defaults to %v, the README says %v", d.key, d.got, d.want)
		}
	}
	for yaml, want := range map[string][2]float64{
		"fragments: {child_mbps: 0, total_mbps: 0}\n": {0, 0}, // explicitly none
		"fragments: {child_mbps: 5}\n":                {5, 50},
		"fragments: {child_mbps: , total_mbps: ~}\n":  {20, 50}, // left empty: the defaults
		"fragments: {policy: none}\n":                 {20, 50},
	} {
		c, err := Parse([]byte("node: {id: region}\nfederation:\n  listen: 0.0.0.0:7443\n  tls: {ca: a, cert: b, key: c}\n  "+yaml), Options{})
		if err != nil {
			t.Fatalf("%q: %v", yaml, err)
		}
		if got := [2]float64{c.Federation.Fragments.ChildMbps, c.Federation.Fragments.TotalMbps}; got != want {
			t.Errorf("%q: caps %v, want %v", yaml, got, want)
		}
	}
}

func TestWebRTCKeys(t *testing.T) {
	for yaml, key := range map[string]string{
		"live: {webrtc: {listen: '8189'}}\n":       "live.webrtc.listen",
		"live: {webrtc: {hosts: [example.com]}}\n": "live.webrtc.hosts",
		"live: {webrtc: {max_sessions: -1}}\n":     "live.webrtc.max_sessions",
	} {
		_, err := Parse([]byte("node: {id: a}\n"+yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
	c, err := Parse([]byte("node: {id: a}\nlive: {webrtc: {listen: ':0', hosts: [203.0.113.7], max_sessions: 8}}\n"), Options{})
	if err != nil || c.Live.WebRTC.Listen != ":0" || c.Live.WebRTC.Hosts[0] != "203.0.113.7" || c.Live.WebRTC.MaxSessions != 8 {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestSubPath(t *testing.T) {
	c, err := Parse([]byte("node: {id: a}\ncameras:\n  - {id: C1, url: 'rtsp://u:p@10.0.0.5:554/Streaming/Channels/101?x=1', sub_path: '/cam/realmonitor?channel=1&subtype=1'}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cameras[0].SubURL(); got != "rtsp://u:p@10.0.0.5:554/cam/realmonitor?channel=1&subtype=1" {
		t.Fatalf("SubURL %q", got)
	}
	_, err = Parse([]byte("node: {id: a}\ncameras:\n  - {id: C1, url: 'rtsp://h/1', sub_path: 'Channels/102'}\n"), Options{})
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "cameras[0].sub_path" {
		t.Fatalf("%v, want an error naming cameras[0].sub_path", err)
	}
}

func TestSealsKeys(t *testing.T) {
	base := "node: {id: a, data_dir: /d}\n"
	good := "seals: {operator: KZ.KTZE, listen: ':8443', tls: {cert: c, key: k}, partners: [{id: RU.GLONASS-TM, url: 'https://ru:8443', ca: ru.pem, roles: [national, transit]}]}\n"
	c, err := Parse([]byte(base+good), Options{})
	if err != nil || !c.Seals.Enabled() || c.Seals.Partners[0].Country != "RU" || c.Seals.LimitKM != 50 || c.Seals.Timeout.Std() != 10*time.Second {
		t.Fatalf("%+v %v", c.Seals, err)
	}
	partner := func(p string) string {
		return "seals: {operator: KZ.KTZE, listen: ':8443', tls: {cert: c, key: k}, partners: [" + p + "]}\n"
	}
	for yaml, key := range map[string]string{
		"seals: {listen: ':8443'}\n":                                                                                             "seals.operator",
		"seals: {operator: kz.ktze, listen: ':8443'}\n":                                                                          "seals.operator",
		"seals: {operator: DE.BAG, listen: ':8443'}\n":                                                                           "seals.operator",
		"seals: {operator: KZ.KTZE, listen: nope}\n":                                                                             "seals.listen",
		"seals: {operator: KZ.KTZE, listen: ':8443', tls: {key: k}}\n":                                                           "seals.tls.cert",
		"seals: {operator: KZ.KTZE, listen: ':8443', tls: {cert: c, key: k}}\n":                                                  "seals.partners",
		"seals: {operator: KZ.KTZE, listen: ':8443', tls: {cert: c, key: k}, keep: 1h}\n":                                        "seals.keep",
		partner("{id: KZ.KTZE, url: 'https://x', ca: c, roles: [national]}"):                                                     "seals.partners[0].id",
		partner("{id: RU.A, country: BY, url: 'https://x', ca: c, roles: [national]}"):                                           "seals.partners[0].country",
		partner("{id: RU.A, url: 'http://x', ca: c, roles: [national]}"):                                                         "seals.partners[0].url",
		partner("{id: RU.A, url: 'https://x', roles: [national]}"):                                                               "seals.partners[0].ca",
		partner("{id: RU.A, url: 'https://x', ca: c}"):                                                                           "seals.partners[0].roles",
		partner("{id: RU.A, url: 'https://x', ca: c, roles: [national, customs]}"):                                               "seals.partners[0].roles[1]",
		partner("{id: RU.A, url: 'https://x', ca: c, roles: [national]}, {id: RU.A, url: 'https://y', ca: c, roles: [transit]}"): "seals.partners[1].id",
	} {
		_, err := Parse([]byte(base+yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
}

func TestPTZKeys(t *testing.T) {
	base := "node: {id: a, data_dir: /d}\n"
	c, err := Parse([]byte(base+"cameras: [{id: D1, url: 'rtsp://u:p@h/x', onvif: 'http://h/onvif/device_service'}]\n"), Options{})
	if err != nil || c.Cameras[0].ONVIF != "http://h/onvif/device_service" || c.PTZ.Lock.Std() != 30*time.Second {
		t.Fatalf("%+v %v", c, err)
	}
	for yaml, key := range map[string]string{
		"cameras: [{id: D1, url: 'rtsp://h/x', onvif: 'rtsp://h/onvif'}]\n":            "cameras[0].onvif",
		"cameras: [{id: D1, url: 'rtsp://h/x', onvif: 'http://u:p@h/onvif/device'}]\n": "cameras[0].onvif",
		"ptz: {lock: 500ms}\n": "ptz.lock",
	} {
		_, err := Parse([]byte(base+yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
}

// An event-recorded camera with a sub-stream records that sub-stream
// throughout unless told not to; a continuous one only when asked.
func TestRecordSub(t *testing.T) {
	cam := func(extra string) (Camera, error) {
		c, err := Parse([]byte("node: {id: a}\ncameras:\n  - {id: C1, url: 'rtsp://u:p@10.0.0.5/101', "+extra+"}\n"), Options{})
		if err != nil {
			return Camera{}, err
		}
		return c.Cameras[0], nil
	}
	for extra, want := range map[string]bool{
		"sub_path: /102, record: {mode: event}":           true,
		"sub_path: /102, record: {mode: event, sub: off}": false,
		"sub_path: /102": false,
		"sub_path: /102, record: {sub: continuous}":             true,
		"record: {mode: event}":                                 false,
		"sub_path: /102, disabled: true, record: {mode: event}": false,
	} {
		c, err := cam(extra)
		if err != nil {
			t.Fatalf("%s: %v", extra, err)
		}
		if c.RecordsSub() != want {
			t.Errorf("%s: records the sub-stream %v, want %v", extra, c.RecordsSub(), want)
		}
	}
	c, _ := cam("sub_path: /102, transport: udp, record: {mode: event}")
	if s := c.SubRecording(); s.ID != "C1~sub" || s.URL != "rtsp://u:p@10.0.0.5/102" || s.Transport != "udp" || s.ANPR.Enabled || s.Record.Mode != "" {
		t.Errorf("the sub-stream's session: %+v", s)
	}
	for extra, key := range map[string]string{
		"record: {sub: continuous}":              "cameras[0].record.sub",
		"sub_path: /102, record: {sub: always}":  "cameras[0].record.sub",
		"sub_path: /102, record: {mode: motion}": "cameras[0].record.mode",
	} {
		_, err := cam(extra)
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%s: %v, want an error naming %s", extra, err, key)
		}
	}
}

// time.ntp names servers by host or host:port; the interval and limit
// are bounded; a bad one is refused by name.
func TestTimeSettings(t *testing.T) {
	c, err := Parse([]byte("node: {id: a}\ntime: {ntp: [ntp1.example.kz, '10.0.0.1:123', '[::1]:1123']}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Time.Interval.Std() != time.Minute || c.Time.MaxOffset.Std() != 500*time.Millisecond || len(c.Time.NTP) != 3 {
		t.Errorf("defaults: %+v", c.Time)
	}
	for body, key := range map[string]string{
		"time: {ntp: ['10.0.0.1:99999']}":  "time.ntp",
		"time: {ntp: ['ntp one']}":         "time.ntp",
		"time: {ntp: [':123']}":            "time.ntp",
		"time: {interval: 1s}":             "time.interval",
		"time: {max_offset: 1ms}":          "time.max_offset",
		"time: {ntp: [a], max_offset: 2h}": "time.max_offset",
	} {
		_, err := Parse([]byte("node: {id: a}\n"+body+"\n"), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%s: %v, want an error naming %s", body, err, key)
		}
	}
}

func TestEventRetentionSettings(t *testing.T) {
	c, err := Parse([]byte("node: {id: a}\n"), Options{})
	if err != nil || c.Events.RetentionDays != DefaultEventRetentionDays {
		t.Fatalf("default: %+v %v", c.Events, err)
	}
	if c, err = Parse([]byte("node: {id: a}\nevents: {retention_days: 2}\n"), Options{AllowShortRetention: true}); err != nil || c.Events.RetentionDays != 2 {
		t.Fatalf("a short retention where allowed: %+v %v", c.Events, err)
	}
	for _, body := range []string{"events: {retention_days: 29}", "events: {retention_days: -1}", "events: {retention_days: 4000}"} {
		_, err := Parse([]byte("node: {id: a}\n"+body+"\n"), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != "events.retention_days" {
			t.Errorf("%s: %v, want an error naming events.retention_days", body, err)
		}
	}
}

func TestPluginKeys(t *testing.T) {
	base := "node: {id: a}\n"
	tls := "federation: {tls: {ca: ca.pem, cert: a.pem, key: a-key.pem}}\n"
	c, err := Parse([]byte(base+tls+"plugins_listen: '0.0.0.0:7450'\nplugins: [{name: smoke, remote: true}, {name: x, command: /bin/x}]\n"), Options{})
	if err != nil || !c.Plugins[0].Remote || c.PluginsListen != "0.0.0.0:7450" {
		t.Fatalf("%+v %v", c, err)
	}
	// a service the node dials needs no plugins_listen
	c, err = Parse([]byte(base+tls+"plugins: [{name: ocr, remote: true, connect: 'gpu.example:7451'}]\n"), Options{})
	if err != nil || c.Plugins[0].Connect != "gpu.example:7451" {
		t.Fatalf("%+v %v", c, err)
	}
	for yaml, key := range map[string]string{
		"plugins: [{name: 'bad name', command: /bin/x}]\n":                                     "plugins[0].name",
		"plugins: [{name: x, command: /bin/x}, {name: x, command: /bin/y}]\n":                  "plugins[1].name",
		"plugins: [{name: x}]\n":                                                               "plugins[0].command",
		"plugins: [{name: x, command: /bin/x, env: [KUZET_PLUGIN_SOCKET=/tmp/s]}]\n":           "plugins[0].env[0]",
		"plugins: [{name: x, command: /bin/x, frames: {format: yuv}}]\n":                       "plugins[0].frames.format",
		"plugins: [{name: x, remote: true}]\n":                                                 "plugins[0].remote",
		tls + "plugins_listen: ':7450'\nplugins: [{name: x, remote: true, command: /bin/x}]\n": "plugins[0].remote",
		tls + "plugins_listen: ':7450'\nplugins: [{name: x, remote: true, env: [A=b]}]\n":      "plugins[0].remote",
		"plugins: [{name: x, command: /bin/x, connect: 'gpu:7451'}]\n":                         "plugins[0].connect",
		tls + "plugins: [{name: x, remote: true, connect: 'gpu'}]\n":                           "plugins[0].connect",
		"plugins: [{name: x, remote: true, connect: 'gpu:7451'}]\n":                            "plugins[0].connect",
		tls + "plugins_listen: 'somewhere'\n":                                                  "plugins_listen",
		"plugins_listen: '0.0.0.0:7450'\n":                                                     "federation.tls.ca",
	} {
		_, err := Parse([]byte(base+yaml), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key {
			t.Errorf("%q: %v, want an error naming %s", yaml, err, key)
		}
	}
}
