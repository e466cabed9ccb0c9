package topology

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// mustApply applies commands in order to c, failing the test on an error.
func mustApply(t testing.TB, c *Catalogue, cmds ...Command) *Catalogue {
	t.Helper()
	for _, cmd := range cmds {
		next, err := c.apply(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd.Type, err)
		}
		next.revision = c.revision + 1
		c = next
	}
	return c
}

func putNode(id, role, parent string, addrs ...string) Command {
	return Command{Type: PutNode, Node: &Node{ID: id, Role: role, Parent: parent, Addresses: addrs}}
}

func putCamera(site, id, zone string) Command {
	return Command{Type: PutCamera, Camera: &Camera{ID: id, Site: site, URL: "rtsp://user:secret@10.0.0.5:554/ch1", Zone: zone,
		Analytics: Analytics{ANPR: ANPR{Enabled: true, FPS: 5}}}}
}

// sample is a small hierarchy: a centre, a region, two sites.
func sample(t testing.TB) *Catalogue {
	return mustApply(t, emptyCatalogue(),
		putNode("centre", RoleCentre, "", "centre-1:7444"),
		putNode("region-a", RoleRegion, "centre", "region-a1:7443", "region-a2:7443"),
		putNode("khorgos-1", RoleSite, "region-a"),
		putNode("khorgos-2", RoleSite, "region-a"),
		Command{Type: PutZone, Zone: &Zone{ID: "lane-1", Site: "khorgos-1", Name: "entry lane"}},
		putCamera("khorgos-1", "Camera1", "lane-1"),
		putCamera("khorgos-1", "Camera2", ""),
		putCamera("khorgos-2", "Camera1", ""),
		Command{Type: PutUser, User: &User{Name: "admin", Role: UserAdmin, PasswordHash: "$argon2id$v=19$x"}},
		Command{Type: PutPolicy, Policy: &Policy{Node: "khorgos-1", Fragments: FragmentsReferenced, Mbps: 20}},
	)
}

// Every refused change names what was wrong and carries the right code;
// the catalogue it was applied to is unchanged.
func TestApplyRefusesBadChanges(t *testing.T) {
	c := sample(t)
	before := c.Contents()
	cases := []struct {
		name string
		cmd  Command
		code Code
		want string
	}{
		{"unknown parent", putNode("x", RoleSite, "nowhere"), CodeInvalid, "unknown parent nowhere"},
		{"bad role", putNode("x", "hub", ""), CodeInvalid, "role must be centre, region or site"},
		{"site above region", putNode("x", RoleRegion, "khorgos-1"), CodeInvalid, "cannot sit under khorgos-1"},
		{"own parent", putNode("x", RoleSite, "x"), CodeInvalid, "its own parent"},
		{"duplicate node", Command{Type: PutNode, Create: true, Node: &Node{ID: "khorgos-1", Role: RoleSite, Parent: "region-a"}}, CodeConflict, "already exists"},
		{"bad id", putNode("bad id", RoleSite, ""), CodeInvalid, `node id "bad id"`},
		{"bad address", putNode("x", RoleSite, "", "host-without-port"), CodeInvalid, "address"},
		{"demote parent", putNode("region-a", RoleSite, "centre"), CodeConflict, "cannot become a site above its children khorgos-1, khorgos-2"},
		{"delete parent", Command{Type: DeleteNode, ID: "region-a"}, CodeConflict, "still has children khorgos-1, khorgos-2"},
		{"delete site with cameras", Command{Type: DeleteNode, ID: "khorgos-2"}, CodeConflict, "still has cameras khorgos-2/Camera1"},
		{"delete missing node", Command{Type: DeleteNode, ID: "ghost"}, CodeNotFound, "ghost does not exist"},
		{"camera unknown site", putCamera("ghost", "Camera1", ""), CodeInvalid, "unknown site ghost"},
		{"camera unknown zone", putCamera("khorgos-1", "Camera3", "lane-9"), CodeInvalid, "unknown zone lane-9"},
		{"camera zone of other site", putCamera("khorgos-2", "Camera2", "lane-1"), CodeInvalid, "zone lane-1 belongs to khorgos-1"},
		{"duplicate camera", Command{Type: PutCamera, Create: true, Camera: putCamera("khorgos-1", "Camera1", "").Camera}, CodeConflict, "khorgos-1/Camera1 already exists"},
		{"camera bad url", Command{Type: PutCamera, Camera: &Camera{ID: "c", Site: "khorgos-1", URL: "http://x/"}}, CodeInvalid, "rtsp://"},
		{"camera bad transport", Command{Type: PutCamera, Camera: &Camera{ID: "c", Site: "khorgos-1", URL: "rtsp://x/", Transport: "sctp"}}, CodeInvalid, "transport must be tcp or udp"},
		{"camera onvif with a login", Command{Type: PutCamera, Camera: &Camera{ID: "c", Site: "khorgos-1", URL: "rtsp://x/", ONVIF: "http://u:p@x/onvif/device_service"}}, CodeInvalid, "onvif must be the camera's ONVIF device service"},
		{"camera short retention", Command{Type: PutCamera, Camera: &Camera{ID: "c", Site: "khorgos-1", URL: "rtsp://x/", RetentionDays: 7}}, CodeInvalid, "retention_days"},
		{"camera fps", Command{Type: PutCamera, Camera: &Camera{ID: "c", Site: "khorgos-1", URL: "rtsp://x/", Analytics: Analytics{ANPR: ANPR{FPS: 90}}}}, CodeInvalid, "fps must be between 0 and 30"},
		{"camera auto without axis", Command{Type: PutCamera, Camera: &Camera{ID: "c", Site: "khorgos-1", URL: "rtsp://x/", Direction: "auto", Analytics: Analytics{ANPR: ANPR{Enabled: true}}}}, CodeInvalid, "needs anpr axis"},
		{"delete used zone", Command{Type: DeleteZone, ID: "lane-1"}, CodeConflict, "used by cameras khorgos-1/Camera1"},
		{"move used zone", Command{Type: PutZone, Zone: &Zone{ID: "lane-1", Site: "khorgos-2"}}, CodeConflict, "cameras khorgos-1/Camera1 of other nodes"},
		{"bad user role", Command{Type: PutUser, User: &User{Name: "bob", Role: "root"}}, CodeInvalid, "role must be admin, engineer, operator or viewer"},
		{"bad user range", Command{Type: PutUser, User: &User{Name: "bob", Role: UserViewer, Allow: []string{"10.0.0.0/33"}}}, CodeInvalid, "neither an address nor a CIDR"},
		{"last admin demoted", Command{Type: PutUser, User: &User{Name: "admin", Role: UserViewer}}, CodeConflict, "last enabled admin"},
		{"last admin deleted", Command{Type: DeleteUser, ID: "admin"}, CodeConflict, "last enabled admin"},
		{"policy unknown node", Command{Type: PutPolicy, Policy: &Policy{Node: "ghost"}}, CodeInvalid, "unknown node ghost"},
		{"policy bad fragments", Command{Type: PutPolicy, Policy: &Policy{Node: "khorgos-2", Fragments: "some"}}, CodeInvalid, "all, referenced or none"},
		{"policy negative cap", Command{Type: PutPolicy, Policy: &Policy{Node: "khorgos-2", Mbps: -1}}, CodeInvalid, "mbps must be between"},
		{"two payloads", Command{Type: PutNode, Node: &Node{ID: "x", Role: RoleSite}, Zone: &Zone{ID: "z"}}, CodeInvalid, "exactly one node"},
		{"unknown type", Command{Type: "put_world"}, CodeInvalid, `unknown command type "put_world"`},
		{"delete camera missing", Command{Type: DeleteCamera, Site: "khorgos-1", ID: "Camera9"}, CodeNotFound, "khorgos-1/Camera9 does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.apply(tc.cmd)
			if err == nil {
				t.Fatal("accepted")
			}
			if CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %s %q, want %s containing %q", CodeOf(err), err, tc.code, tc.want)
			}
		})
	}
	if after := c.Contents(); !c.Equal(mustFromContents(t, before)) || after.Revision != before.Revision {
		t.Fatal("a refused change altered the catalogue")
	}
}

func mustFromContents(t *testing.T, ct Contents) *Catalogue {
	t.Helper()
	c, err := fromContents(ct)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApplyChangesAndDefaults(t *testing.T) {
	c := sample(t)
	cam, ok := c.Camera("khorgos-1", "Camera2")
	if !ok || cam.Transport != "tcp" || cam.Direction != "entry" {
		t.Fatalf("camera defaults: %+v", cam)
	}
	p, _ := c.Policy("khorgos-1")
	if p.Fragments != FragmentsReferenced || p.Mbps != 20 {
		t.Fatalf("policy: %+v", p)
	}
	// an older catalogue value is not touched by a later change
	c2 := mustApply(t, c,
		Command{Type: DeleteCamera, Site: "khorgos-2", ID: "Camera1"},
		Command{Type: DeleteNode, ID: "khorgos-2"},
		Command{Type: PutNode, Node: &Node{ID: "khorgos-1", Role: RoleSite, Parent: "centre", CertFingerprint: strings.Repeat("AB:", 31) + "AB"}},
		// a put without a hash keeps the stored one
		Command{Type: PutUser, User: &User{Name: "admin", Role: UserAdmin, Allow: []string{"10.0.0.0/8"}}},
	)
	if _, ok := c.Node("khorgos-2"); !ok {
		t.Fatal("the earlier catalogue lost a node")
	}
	if _, ok := c2.Node("khorgos-2"); ok {
		t.Fatal("node not deleted")
	}
	n, _ := c2.Node("khorgos-1")
	if n.Parent != "centre" || n.CertFingerprint != strings.Repeat("ab", 32) {
		t.Fatalf("re-parented node: %+v", n)
	}
	if u, _ := c2.User("admin"); u.PasswordHash != "$argon2id$v=19$x" || len(u.Allow) != 1 {
		t.Fatalf("user after put without hash: %+v", u)
	}
	if len(c2.Children("region-a")) != 0 || len(c2.Children("centre")) != 2 {
		t.Fatal("children")
	}
	// the policy of a deleted node goes with it
	c3 := mustApply(t, c2, Command{Type: PutPolicy, Policy: &Policy{Node: "region-a", TotalMbps: 50}},
		Command{Type: DeleteNode, ID: "region-a"})
	if _, ok := c3.Policy("region-a"); ok {
		t.Fatal("policy of a deleted node kept")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	c := sample(t)
	b, err := EncodeSnapshot(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(c) || got.Revision() != c.Revision() {
		t.Fatalf("round trip differs:\n%+v\n%+v", got.Contents(), c.Contents())
	}
	for _, bad := range []struct{ in, want string }{
		{`{"schema":8}`, "newer than this node's v7"},
		{`{"revision":1}`, "no schema version"},
		{`{"schema":2,"nodes":[{"id":"a","role":"site","parent":"b"}]}`, "unknown parent b"},
		{`{"schema":2,"nodes":[{"id":"a","role":"site"},{"id":"a","role":"site"}]}`, "already exists"},
		{`{"schema":2,"nodez":[]}`, "unknown field"},
	} {
		if _, err := DecodeSnapshot([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want %q", bad.in, err, bad.want)
		}
	}
}

func TestCommandCodec(t *testing.T) {
	cmd := putCamera("khorgos-1", "Camera1", "lane-1")
	b, err := EncodeCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeCommand(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Camera == nil || got.Camera.Key() != "khorgos-1/Camera1" || got.Camera.Transport != "tcp" {
		t.Fatalf("decoded %+v", got)
	}
	for _, bad := range []struct{ in, want string }{
		{`{"v":9,"type":"put_zone","zone":{"id":"z"}}`, "v9 is newer"},
		{`{"type":"put_zone","zone":{"id":"z"}}`, "no schema version"},
		{`{"v":2,"type":"put_zone","zone":{"id":"z","colour":"red"}}`, `unknown field "colour"`},
		{`{"v":2,"type":"put_zone","zone":{"id":"z"}} {}`, "trailing data"},
		{`{"v":2,"type":"delete_zone","id":"z","zone":{"id":"z"}}`, "a delete takes only an id"},
		{`[1,2]`, "command"},
	} {
		if _, err := DecodeCommand([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: got %v, want %q", bad.in, err, bad.want)
		}
	}
	// a v1 command (written by a v1 replica into the log) applies as v2
	v1 := `{"v":1,"type":"put_camera","camera":{"id":"Camera9","site":"khorgos-1","url":"rtsp://10.0.0.9/","anpr":true,"anpr_fps":3}}`
	got, err = DecodeCommand([]byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Camera.Analytics.ANPR; !a.Enabled || a.FPS != 3 {
		t.Fatalf("v1 camera migrated to %+v", got.Camera)
	}
}

// tiered is a centre with a region tier of three replicas (region-a1..a3,
// the Raft members of that tier), a lone region and their sites.
func tiered(t testing.TB) *Catalogue {
	t.Helper()
	replica := func(id string, addrs ...string) Command {
		c := putNode(id, RoleRegion, "centre", addrs...)
		c.Node.Tier = "region-a"
		return c
	}
	decoy := putNode("site-w", RoleSite, "region-a3")
	decoy.Node.Tier = "region-a" // a tier name elsewhere in the tree lends nothing
	return mustApply(t, emptyCatalogue(),
		putNode("centre", RoleCentre, "", "centre-1:7443"),
		replica("region-a1", "region-a1:7443"),
		replica("region-a2", "region-a2:7443", "10.0.0.2:7443"),
		replica("region-a3", "region-a3:7443", "region-a2:7443"),
		putNode("region-b", RoleRegion, "centre", "region-b:7443"),
		putNode("site-x", RoleSite, "region-a1"),
		putNode("site-y", RoleSite, "region-a2"),
		putNode("site-z", RoleSite, "region-b"),
		decoy,
	)
}

func TestTierMaySpeakFor(t *testing.T) {
	c := tiered(t)
	if got := c.Tier("region-a2"); !slices.Equal(got, []string{"region-a1", "region-a2", "region-a3"}) {
		t.Fatalf("tier of region-a2: %v", got)
	}
	if got := c.Tier("site-w"); !slices.Equal(got, []string{"site-w"}) {
		t.Fatalf("tier of the decoy: %v", got)
	}
	for _, tc := range []struct {
		child, origin string
		want          bool
	}{
		{"site-x", "site-x", true},
		{"region-a1", "site-x", true},
		{"region-a2", "site-x", true}, // site-x failed over from a1 to a2
		{"region-a3", "site-y", true},
		{"region-a1", "site-w", true},
		{"centre", "site-x", true},
		{"region-b", "site-z", true},
		{"site-x", "site-y", false},
		{"region-b", "site-x", false},
		{"region-a1", "site-z", false},
		{"region-a1", "region-a2", false}, // a peer is not a descendant
		{"region-a1", "centre", false},
		{"site-w", "site-x", false}, // shares the tier name, not the tier
		{"region-a1", "ghost", false},
		{"ghost", "site-x", false},
	} {
		if got := c.MaySpeakFor(tc.child, tc.origin); got != tc.want {
			t.Errorf("MaySpeakFor(%s, %s) = %v, want %v", tc.child, tc.origin, got, tc.want)
		}
	}
	for node, want := range map[string][]string{
		"region-a1": {"site-w", "site-x", "site-y"},
		"region-a3": {"site-w", "site-x", "site-y"},
		"region-b":  {"site-z"},
		"centre":    {"region-a1", "region-a2", "region-a3", "region-b", "site-w", "site-x", "site-y", "site-z"},
		"site-x":    nil,
		"ghost":     nil,
	} {
		if got := c.Subtree(node); !slices.Equal(got, want) {
			t.Errorf("Subtree(%s) = %v, want %v", node, got, want)
		}
	}
	// a catalogue whose parent links loop (never built by apply) ends the walk
	loop := tiered(t)
	loop.nodes = maps.Clone(loop.nodes)
	loop.nodes["centre"] = Node{ID: "centre", Role: RoleCentre, Parent: "site-x"}
	if loop.MaySpeakFor("region-b", "site-x") {
		t.Fatal("walk through a cycle granted")
	}
	_ = loop.Subtree("centre")
}

func TestSliceNamesEveryReplica(t *testing.T) {
	c := tiered(t)
	s, err := c.SliceFor("site-x")
	if err != nil {
		t.Fatal(err)
	}
	// the parent first, then its peers, each address once
	want := []string{"region-a1:7443", "region-a2:7443", "10.0.0.2:7443", "region-a3:7443"}
	if !slices.Equal(s.Upstream, want) || s.Subtree != nil {
		t.Fatalf("site slice: upstream %v, subtree %v; want upstream %v", s.Upstream, s.Subtree, want)
	}
	if s, _ := c.SliceFor("site-z"); !slices.Equal(s.Upstream, []string{"region-b:7443"}) {
		t.Fatalf("untiered parent: upstream %v", s.Upstream)
	}
	r, err := c.SliceFor("region-a2")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Subtree, []string{"site-w", "site-x", "site-y"}) || !slices.Equal(r.Upstream, []string{"centre-1:7443"}) {
		t.Fatalf("replica slice: subtree %v, upstream %v", r.Subtree, r.Upstream)
	}
	b, _ := json.Marshal(r)
	back, err := ParseSlice(b)
	if err != nil || !reflect.DeepEqual(back, r) {
		t.Fatalf("slice round trip: %v\n%+v\n%+v", err, back, r)
	}
	for _, bad := range []struct{ subtree, want string }{
		{`["bad id"]`, "subtree node"},
		{`["a"]`, "the node itself"},
		{`["b","b"]`, "twice"},
		{`"b"`, "cannot unmarshal"},
	} {
		in := `{"schema":2,"node":"a","role":"region","cameras":[],"policy":{"node":"a","fragments":"all"},"revoked_nodes":[],"subtree":` + bad.subtree + `}`
		if _, err := ParseSlice([]byte(in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("subtree %s: got %v, want %q", bad.subtree, err, bad.want)
		}
	}
	// the tier survives a snapshot; a bad one is refused like an ID
	snap, err := EncodeSnapshot(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeSnapshot(snap); err != nil || !got.Equal(c) {
		t.Fatalf("snapshot with tiers: %v", err)
	}
	badTier := putNode("region-x", RoleRegion, "centre")
	badTier.Node.Tier = "bad tier"
	if _, err := c.apply(badTier); err == nil || CodeOf(err) != CodeInvalid || !strings.Contains(err.Error(), "tier") {
		t.Fatalf("bad tier: %v", err)
	}
}
