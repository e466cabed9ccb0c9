package netaddr

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePrefixes(t *testing.T) {
	ps, err := ParsePrefixes([]string{"10.1.2.3/16", "192.0.2.7", "::ffff:192.0.2.8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.1.0.0/16", "192.0.2.7/32", "192.0.2.8/32", "::1/128"}
	for i, p := range ps {
		if p.String() != want[i] {
			t.Errorf("[%d] = %s, want %s", i, p, want[i])
		}
	}
	if !ps.Contains(netip.MustParseAddr("::ffff:10.1.200.1")) || ps.Contains(netip.MustParseAddr("10.2.0.1")) {
		t.Error("Contains")
	}
	for _, tc := range []struct {
		list []string
		msg  string
	}{
		{[]string{"10.0.0.1", "10.0.0.0/33"}, `[1] "10.0.0.0/33" is neither an address nor a CIDR prefix`},
		{[]string{"nowhere"}, `[0] "nowhere" is not an address or CIDR prefix`},
		{[]string{""}, `[0] "" is not an address`},
	} {
		if _, err := ParsePrefixes(tc.list); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: %v, want an error naming %q", tc.list, err, tc.msg)
		}
	}
}
