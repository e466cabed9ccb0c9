package federation

import (
	"crypto/tls"
	"log/slog"

	"github.com/kuzet/kuzet/pki"
)

// ALPN names the wire protocol generation; a peer speaking another is
// refused during the handshake.
const ALPN = "kuzet/2"

// linkTLS is the link protocol's mutual TLS for either side of a link.
func linkTLS(i *pki.Identity, server bool, log *slog.Logger) *tls.Config {
	return i.MutualTLS(server, ALPN, log)
}
