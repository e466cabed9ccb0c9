package api

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// HostNames are the names a request's Host header may carry. A page of
// another site whose name was made to resolve to this node's address (DNS
// rebinding) sends that site's name, and is refused; an IP address
// cannot be rebound, nor can localhost, which never goes to DNS.
type HostNames struct {
	// Names are host names and IP addresses, compared without the port,
	// case-insensitively and ignoring a final dot; "*.example.org" (as in
	// a certificate) covers one label.
	Names []string
	// AnyAddress accepts every IP address (the node listens on all of
	// its addresses).
	AnyAddress bool
	// Local accepts localhost, *.localhost and loopback addresses.
	Local bool
}

// Allows reports whether a Host header value ("name", "name:port",
// "[::1]:port") names this node.
func (h *HostNames) Allows(hostport string) bool {
	host := hostport
	if hp, _, err := net.SplitHostPort(hostport); err == nil {
		host = hp
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	ip, ipErr := netip.ParseAddr(host)
	if ipErr == nil {
		ip = ip.Unmap()
		if h.AnyAddress || h.Local && ip.IsLoopback() {
			return true
		}
	} else if h.Local && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return true
	}
	for _, n := range h.Names {
		n = strings.TrimSuffix(strings.ToLower(strings.Trim(n, "[]")), ".")
		if n == host {
			return true
		}
		// a certificate's wildcard covers one label
		if rest, ok := strings.CutPrefix(n, "*."); ok && ipErr != nil {
			if label, parent, ok := strings.Cut(host, "."); ok && label != "" && parent == rest {
				return true
			}
		}
		if a, err := netip.ParseAddr(n); err == nil && ipErr == nil && a.Unmap() == ip {
			return true
		}
	}
	return false
}

// checkHost refuses requests whose Host header names another site with
// 421 Misdirected Request. A request without Host (HTTP/1.0) is served:
// browsers always send one.
func checkHost(h *HostNames, log *slog.Logger, next http.Handler) http.Handler {
	if h == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "" || h.Allows(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		if log != nil {
			log.Warn("HTTP request refused: Host is not a name of this node", "host", r.Host, "remote", r.RemoteAddr, "path", r.URL.Path)
		}
		writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf("Host %q is not a name of this node: if clients reach it by that name, add it to http.hosts", r.Host))
	})
}
