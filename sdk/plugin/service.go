package plugin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// EnvListen makes a remote plugin a service the node dials: the address it
// listens on (host:port), the node's plugins[].connect. Connect uses it
// when set, with KUZET_PLUGIN_NODE, _CA, _CERT and _KEY as for a plugin
// that dials the node.
const EnvListen = "KUZET_PLUGIN_LISTEN"

// Service is a remote plugin that the node dials (a site whose uplink
// only lets it dial out): it listens on an address, takes the node's
// connection over mutual TLS, and then speaks the protocol on it as a
// client, as every plugin does. Requests wait for the node's next
// connection when none is up.
type Service struct {
	*Client
	l     net.Listener
	conns chan net.Conn
}

// Listen starts a service plugin on r.Address, accepting only the node
// r.Node whose certificate chains to r.CA; it presents r.Cert, which
// names this plugin of that node (kuzet pki plugin).
func Listen(r Remote) (*Service, error) {
	roots, cert, err := r.credentials(EnvListen, "a plugin service needs its address, the node's ID, the CA, and its certificate and key")
	if err != nil {
		return nil, err
	}
	node := r.Node
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots,
		// only the one node: its certificate names it
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !slices.Contains(cs.PeerCertificates[0].DNSNames, node) {
				return fmt.Errorf("plugin: the peer is not node %s", node)
			}
			return nil
		}}
	l, err := net.Listen("tcp", r.Address)
	if err != nil {
		return nil, fmt.Errorf("plugin: listen %s: %w", r.Address, err)
	}
	s := &Service{l: l, conns: make(chan net.Conn)}
	go s.accept(tls.NewListener(l, cfg))
	tr := &http.Transport{
		// the node's connection, past its handshake, is the one to use
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			select {
			case c, ok := <-s.conns:
				if !ok {
					return nil, net.ErrClosed
				}
				return c, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		ForceAttemptHTTP2:  true,
		DisableCompression: true,
		HTTP2:              &http.HTTP2Config{SendPingTimeout: 20 * time.Second, PingTimeout: 10 * time.Second},
	}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP2(true)
	name := ""
	if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
		name = pluginName(leaf)
	}
	s.Client = &Client{http: &http.Client{Transport: tr}, base: "https://" + node, name: name}
	return s, nil
}

// accept hands each verified connection of the node to the transport.
func (s *Service) accept(l net.Listener) {
	defer close(s.conns)
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go func() {
			tc := c.(*tls.Conn)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return
			}
			select {
			case s.conns <- c:
			case <-time.After(time.Minute): // nobody asked: the node will dial again
				c.Close()
			}
		}()
	}
}

// Addr is where the service listens.
func (s *Service) Addr() net.Addr { return s.l.Addr() }

// Close stops listening; connections under way end with their requests.
func (s *Service) Close() error { return s.l.Close() }
