package topology

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A node's plugins travel in its slice; what the catalogue may say of
// them is bounded, and a slice that says more is refused.
func TestNodePlugins(t *testing.T) {
	site := putNode("site-1", RoleSite, "centre")
	site.Node.Plugins = []NodePlugin{{Name: "colorchange", Args: []string{"-threshold", "30"}, Cameras: []string{"Camera1"},
		Events: []string{"plate.read"}, FPS: 2, Width: 320, Height: 180, Format: "rgb24"}}
	c := mustApply(t, emptyCatalogue(), putNode("centre", RoleCentre, ""), site)
	s, err := c.SliceFor("site-1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Plugins, site.Node.Plugins) {
		t.Fatalf("slice plugins %+v", s.Plugins)
	}
	b, _ := json.Marshal(s)
	back, err := ParseSlice(b)
	if err != nil || !reflect.DeepEqual(back.Plugins, s.Plugins) {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	// the slice is a copy: changing it changes nothing in the catalogue
	s.Plugins[0].Args[0] = "-x"
	if again, _ := c.SliceFor("site-1"); again.Plugins[0].Args[0] != "-threshold" {
		t.Fatal("the slice shares the catalogue's plugins")
	}
	for _, bad := range []struct {
		p    NodePlugin
		want string
	}{
		{NodePlugin{Name: "../bin/sh"}, "plugin name"},
		{NodePlugin{Name: "x", Format: "yuv"}, "format"},
		{NodePlugin{Name: "x", Cameras: []string{"a b"}}, "camera"},
		{NodePlugin{Name: "x", Events: []string{"Plate Read"}}, "event kind"},
		{NodePlugin{Name: "x", FPS: 100}, "fps"},
		{NodePlugin{Name: "x", Every: 2, Keyframes: true}, "every"},
		{NodePlugin{Name: "x", Connect: "gpu:7451"}, "connect"},
		{NodePlugin{Name: "x", Remote: true, Connect: "gpu"}, "connect"},
		{NodePlugin{Name: "x", MemoryMB: -1}, "negative"},
		{NodePlugin{Name: "x", Args: []string{"a\x00b"}}, "arg"},
	} {
		n := putNode("site-2", RoleSite, "centre")
		n.Node.Plugins = []NodePlugin{bad.p}
		if _, err := c.apply(n); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want %q", bad.p, err, bad.want)
		}
		in := `{"schema":3,"node":"a","role":"site","cameras":[],"policy":{"node":"a","fragments":"all"},"revoked_nodes":[],"plugins":[` + mustJSON(bad.p) + `]}`
		if _, err := ParseSlice([]byte(in)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("slice with %+v: %v, want %q", bad.p, err, bad.want)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
