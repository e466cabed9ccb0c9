package pki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// A remote analytics plugin's certificate names the one node it may speak
// to and its name there, kuzet://plugin/<node>/<name>, and no host: it can
// neither pass for a node on a link nor for a node to another plugin.

var pluginNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)

// PluginURI is the SAN a plugin certificate carries.
func PluginURI(node, name string) *url.URL {
	return &url.URL{Scheme: nodeURIScheme, Host: "plugin", Path: "/" + node + "/" + name}
}

// PluginOf returns the node and plugin a certificate names.
func PluginOf(c *x509.Certificate) (node, name string, err error) {
	for _, u := range c.URIs {
		if u.Scheme != nodeURIScheme || u.Host != "plugin" {
			continue
		}
		n, p, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if ok && nodeIDPattern.MatchString(n) && pluginNamePattern.MatchString(p) {
			return n, p, nil
		}
	}
	return "", "", fmt.Errorf("certificate %q carries no kuzet://plugin/NODE/NAME name", c.Subject.CommonName)
}

// IssuePlugin signs a certificate for plugin name of node with the CA in
// caDir, and writes <node>.<name>.pem and its key into outDir.
func IssuePlugin(caDir, node, name, outDir string, validity time.Duration) (Issued, error) {
	if !nodeIDPattern.MatchString(node) {
		return Issued{}, fmt.Errorf("node id %q: use 1-64 letters, digits, '-' or '_'", node)
	}
	if !pluginNamePattern.MatchString(name) {
		return Issued{}, fmt.Errorf("plugin name %q: letters, digits, - and _, at most 40", name)
	}
	return sign(caDir, node+"."+name, outDir, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "plugin " + name + " of " + node, Organization: []string{"Kuzet analytics plugin"}},
		URIs:      []*url.URL{PluginURI(node, name)},
		NotBefore: time.Now().Add(-time.Hour),
		NotAfter:  time.Now().Add(validity),
	})
}

// PluginTLS is the server side of remote plugins' mutual TLS at this node:
// its own certificate, and a client's chain checked against the federation
// CA, its validity and revocation, and that it names a plugin of this
// node. PluginName names the verified plugin of a finished handshake.
func (i *Identity) PluginTLS(log *slog.Logger) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{i.cert},
		ClientAuth:         tls.RequireAnyClientCert,
		InsecureSkipVerify: true, // verified below, with reasons
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := i.verifyPlugin(raw)
			if err != nil && log != nil {
				log.Warn("plugin refused during handshake", "reason", err.Error())
			}
			return err
		},
	}
}

// PluginName returns the verified plugin name of a finished handshake.
func (i *Identity) PluginName(cs tls.ConnectionState) (string, error) {
	raw := make([][]byte, 0, len(cs.PeerCertificates))
	for _, c := range cs.PeerCertificates {
		raw = append(raw, c.Raw)
	}
	return i.verifyPlugin(raw)
}

func (i *Identity) verifyPlugin(raw [][]byte) (string, error) {
	leaf, err := i.verifyChain(raw)
	if err != nil {
		return "", err
	}
	node, name, err := PluginOf(leaf)
	if err != nil {
		return "", &PeerError{err.Error()}
	}
	if node != i.NodeID {
		return "", &PeerError{fmt.Sprintf("certificate of plugin %s is for node %s, not %s", name, node, i.NodeID)}
	}
	return name, nil
}

// PluginClientTLS is the node's side of a connection it opens to the
// remote plugin name (a service the node dials): the node's certificate,
// and the service's checked as PluginTLS checks a plugin's, naming name.
func (i *Identity) PluginClientTLS(name string, log *slog.Logger) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		Certificates:       []tls.Certificate{i.cert},
		NextProtos:         []string{"h2"},
		InsecureSkipVerify: true, // verified below, with reasons
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			got, err := i.verifyPlugin(raw)
			if err == nil && got != name {
				err = &PeerError{fmt.Sprintf("the service presents plugin %s's certificate, not %s's", got, name)}
			}
			if err != nil && log != nil {
				log.Warn("plugin service refused during handshake", "plugin", name, "reason", err.Error())
			}
			return err
		},
	}
}
