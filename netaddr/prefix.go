package netaddr

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefix reads a CIDR prefix ("10.0.0.0/8") or one address
// ("10.0.0.5", "::1"), which stands for a prefix of its full length. Host
// bits of a prefix are cleared, and an IPv4-mapped IPv6 address is taken as
// the IPv4 address it carries, as Prefixes.Contains compares.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR prefix such as 10.0.0.0/8 (%v)", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Prefixes is a list of address ranges.
type Prefixes []netip.Prefix

// ParsePrefixes reads each entry with ParsePrefix; an error names the
// entry by its index and text.
func ParsePrefixes(list []string) (Prefixes, error) {
	out := make(Prefixes, 0, len(list))
	for i, s := range list {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("[%d] %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Contains reports whether a falls in one of the ranges. An IPv4-mapped
// IPv6 address counts as its IPv4 address, which is how a dual-stack
// listener reports IPv4 clients.
func (ps Prefixes) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
