package camevents

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/kuzet/kuzet/netaddr"
)

// Gate admits one camera's plate events: its secret, and the addresses it
// posts from (the host of its RTSP URL and its own list). Cameras cannot
// log in as users; a token bound to one camera, checked with its address,
// lets a camera post for itself and for no other.
type Gate struct {
	Camera string
	token  [sha256.Size]byte
	from   netaddr.Prefixes
}

// NewGate makes the gate of camera from its RTSP URL, its token and its
// extra source addresses (addresses or CIDR prefixes). A URL that names
// its host rather than giving an address adds nothing: the camera's
// addresses are then those of from.
func NewGate(camera, rtspURL, token string, from []string) (Gate, error) {
	if token == "" {
		return Gate{}, fmt.Errorf("camera %s: no token", camera)
	}
	h := sha256.Sum256([]byte(token))
	return NewHashedGate(camera, rtspURL, hex.EncodeToString(h[:]), from)
}

// NewHashedGate is NewGate with the token's hex SHA-256 in place of the
// token (a catalogue camera's, or a file that keeps only the hash).
func NewHashedGate(camera, rtspURL, tokenSHA256 string, from []string) (Gate, error) {
	b, err := hex.DecodeString(tokenSHA256)
	if err != nil || len(b) != sha256.Size {
		return Gate{}, fmt.Errorf("camera %s: token hash is not 64 hex digits", camera)
	}
	g := Gate{Camera: camera}
	copy(g.token[:], b)
	if a, ok := URLAddr(rtspURL); ok {
		g.from = append(g.from, netip.PrefixFrom(a, a.BitLen()))
	}
	for _, s := range from {
		p, err := netaddr.ParsePrefix(s)
		if err != nil {
			return Gate{}, fmt.Errorf("camera %s: %w", camera, err)
		}
		g.from = append(g.from, p)
	}
	return g, nil
}

// URLAddr is the address in a URL's host, if it gives one.
func URLAddr(raw string) (netip.Addr, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// Admits reports whether the camera may post from addr.
func (g Gate) Admits(addr netip.Addr) bool {
	return g.from.Contains(addr.WithZone(""))
}

// HasAddresses reports whether the gate names any address.
func (g Gate) HasAddresses() bool { return len(g.from) > 0 }

// TokenOK compares token with the camera's in constant time (over hashes,
// so that not even the length shows).
func (g Gate) TokenOK(token string) bool {
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], g.token[:]) == 1
}

// Refusal is a request that was not taken, as the API answers it.
type Refusal struct {
	Status int // 401, 403 or 404
	Msg    string
	// Quiet refusals (an address that neither the allow-list nor any
	// camera admits) are logged like the allow-list's, not audited, so that
	// strangers cannot fill the audit log.
	Quiet bool
}

func (r *Refusal) Error() string { return r.Msg }

// Check decides on a plate event posted for camera from src with token.
// gates are the cameras that take plate events; allowed tells whether src
// is in the node's HTTP allow-list. The checks go from what the caller can
// least influence to what it knows: the address, the camera, the token; a
// token is never tried from an address that may not use it.
func Check(gates map[string]Gate, camera string, src netip.Addr, token string, allowed bool) *Refusal {
	src = src.Unmap().WithZone("")
	if !allowed {
		known := false
		for _, g := range gates {
			known = known || g.Admits(src)
		}
		if !known {
			return &Refusal{Status: http.StatusForbidden, Msg: "client address " + src.String() + " is not allowed", Quiet: true}
		}
	}
	g, ok := gates[camera]
	if !ok {
		return &Refusal{Status: http.StatusNotFound,
			Msg: fmt.Sprintf("camera %q takes no plate events here: it is not configured on this node or has no anpr.ingest", camera)}
	}
	if !g.Admits(src) {
		return &Refusal{Status: http.StatusForbidden,
			Msg: fmt.Sprintf("camera %s does not post from %s: it posts from the host of its RTSP URL or an address in its anpr.ingest.from", camera, src)}
	}
	if token == "" {
		return &Refusal{Status: http.StatusUnauthorized,
			Msg: fmt.Sprintf("camera %s: no token (send it as Authorization: Bearer, as the Basic password or as ?token=)", camera)}
	}
	if !g.TokenOK(token) {
		return &Refusal{Status: http.StatusUnauthorized, Msg: fmt.Sprintf("camera %s: wrong token", camera)}
	}
	return nil
}
