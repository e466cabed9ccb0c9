package camevents

import (
	"net/netip"
	"testing"
)

func TestCheck(t *testing.T) {
	gate := func(cam, url, token string, from ...string) Gate {
		g, err := NewGate(cam, url, token, from)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	gates := map[string]Gate{
		"Gate1": gate("Gate1", "rtsp://admin:pw@10.0.0.5:554/Streaming/Channels/101", "gate1-secret-0123456789"),
		"Gate2": gate("Gate2", "rtsp://10.0.0.6/ch1", "gate2-secret-0123456789", "10.0.9.0/24"),
		"Gate3": gate("Gate3", "rtsp://cam3.site.lan/ch1", "gate3-secret-0123456789", "10.0.0.7"), // a name: from only
		"Gate6": gate("Gate6", "rtsp://[fd00::6]:554/ch1", "gate6-secret-0123456789"),
	}
	ip := netip.MustParseAddr
	for _, c := range []struct {
		name    string
		camera  string
		src     string
		token   string
		allowed bool
		status  int // 0: admitted
		quiet   bool
	}{
		{"camera from its host", "Gate1", "10.0.0.5", "gate1-secret-0123456789", false, 0, false},
		{"IPv4-mapped address", "Gate1", "::ffff:10.0.0.5", "gate1-secret-0123456789", false, 0, false},
		{"from its list", "Gate2", "10.0.9.77", "gate2-secret-0123456789", false, 0, false},
		{"named host: from only", "Gate3", "10.0.0.7", "gate3-secret-0123456789", false, 0, false},
		{"IPv6 host", "Gate6", "fd00::6", "gate6-secret-0123456789", false, 0, false},
		{"wrong token", "Gate1", "10.0.0.5", "gate1-secret-0123456780", false, 401, false},
		{"no token", "Gate1", "10.0.0.5", "", false, 401, false},
		{"another camera's token", "Gate1", "10.0.0.5", "gate2-secret-0123456789", false, 401, false},
		{"another camera's address and token", "Gate2", "10.0.0.5", "gate1-secret-0123456789", false, 403, false},
		{"right token, wrong address", "Gate1", "10.0.0.99", "gate1-secret-0123456789", true, 403, false},
		{"stranger", "Gate1", "192.0.2.1", "gate1-secret-0123456789", false, 403, true},
		{"stranger, unknown camera", "Nope", "192.0.2.1", "", false, 403, true},
		{"allowed workstation, unknown camera", "Nope", "127.0.0.1", "x", true, 404, false},
		{"camera address, unknown camera", "Nope", "10.0.0.5", "gate1-secret-0123456789", false, 404, false},
	} {
		r := Check(gates, c.camera, ip(c.src), c.token, c.allowed)
		switch {
		case c.status == 0 && r != nil:
			t.Errorf("%s: refused: %v", c.name, r)
		case c.status != 0 && (r == nil || r.Status != c.status || r.Quiet != c.quiet || r.Msg == ""):
			t.Errorf("%s: %+v, want %d quiet=%v", c.name, r, c.status, c.quiet)
		}
	}
	if _, err := NewGate("Gate9", "rtsp://10.0.0.9/", "", nil); err == nil {
		t.Error("a gate without a token")
	}
	if _, err := NewGate("Gate9", "rtsp://10.0.0.9/", "t", []string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad from entry")
	}
}
