package plugin

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// The environment of a remote plugin: one that runs on another machine
// and connects to the node over mutual TLS (docs/plugins.md, "Remote
// plugins"). Connect uses these when KUZET_PLUGIN_SOCKET is not set.
const (
	EnvAddress = "KUZET_PLUGIN_ADDRESS" // the node's plugins_listen, host:port
	EnvNode    = "KUZET_PLUGIN_NODE"    // the node's ID, which its certificate names
	EnvCA      = "KUZET_PLUGIN_CA"      // the federation CA (PEM)
	EnvCert    = "KUZET_PLUGIN_CERT"    // the plugin's certificate (kuzet pki plugin)
	EnvKey     = "KUZET_PLUGIN_KEY"     // and its key
)

// Remote is where a remote plugin finds its node and its credentials.
type Remote struct {
	Address string // host:port of the node's plugins_listen
	Node    string // the node's ID: its certificate must name it
	CA      string // PEM file of the federation CA
	Cert    string // PEM files of the plugin's certificate and key
	Key     string
}

// RemoteFromEnv reads Remote from the KUZET_PLUGIN_* variables above.
func RemoteFromEnv() Remote {
	return Remote{Address: os.Getenv(EnvAddress), Node: os.Getenv(EnvNode), CA: os.Getenv(EnvCA),
		Cert: os.Getenv(EnvCert), Key: os.Getenv(EnvKey)}
}

// DialRemote builds a client of a node over mutual TLS 1.3 and HTTP/2.
// The node is known by its certificate, which must chain to the CA and
// name the node; the node knows the plugin by the plugin's certificate.
// It does not connect until the first request.
func DialRemote(r Remote) (*Client, error) {
	roots, cert, err := r.credentials(EnvAddress, "a remote plugin needs the node's address and ID, the CA, and its certificate and key")
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots, Certificates: []tls.Certificate{cert},
			ServerName: r.Node},
		ForceAttemptHTTP2:  true,
		DisableCompression: true,
		// a node gone without a word (a cut link) ends the streams
		HTTP2:               &http.HTTP2Config{SendPingTimeout: 20 * time.Second, PingTimeout: 10 * time.Second},
		MaxIdleConnsPerHost: 4,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP2(true)
	name := ""
	if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
		name = pluginName(leaf)
	}
	return &Client{http: &http.Client{Transport: tr}, base: "https://" + r.Address, name: name}, nil
}

// credentials checks that every setting is there (addressVar names the
// address's variable, why what they are for) and reads the CA and the
// plugin's certificate and key.
func (r Remote) credentials(addressVar, why string) (*x509.CertPool, tls.Certificate, error) {
	for _, f := range []struct{ name, v string }{{addressVar, r.Address}, {EnvNode, r.Node}, {EnvCA, r.CA}, {EnvCert, r.Cert}, {EnvKey, r.Key}} {
		if f.v == "" {
			return nil, tls.Certificate{}, fmt.Errorf("plugin: %s is not set: %s", f.name, why)
		}
	}
	caPEM, err := os.ReadFile(r.CA)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("plugin: %s: %w", EnvCA, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, fmt.Errorf("plugin: %s: %s holds no PEM certificate", EnvCA, r.CA)
	}
	cert, err := tls.LoadX509KeyPair(r.Cert, r.Key)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("plugin: %s/%s: %w", EnvCert, EnvKey, err)
	}
	return roots, cert, nil
}

// pluginName is the name in a plugin certificate's kuzet://plugin/NODE/NAME.
func pluginName(c *x509.Certificate) string {
	for _, u := range c.URIs {
		if u.Scheme == "kuzet" && u.Host == "plugin" {
			if _, name, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); ok {
				return name
			}
		}
	}
	return ""
}
