package pki

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A plugin's certificate speaks for one plugin of one node: it is no
// node on a federation link, and a node's certificate is no plugin.
func TestPluginCertificates(t *testing.T) {
	dir := t.TempDir()
	if err := InitCA(dir, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"site", "centre"} {
		if _, err := IssueNode(dir, id, dir, time.Time{}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := IssuePlugin(dir, "site", "smoke", dir, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"site", "bad name"}, {"bad/node", "smoke"}} {
		if _, err := IssuePlugin(dir, bad[0], bad[1], dir, time.Hour); err == nil {
			t.Fatalf("issued a plugin certificate for %q of %q", bad[1], bad[0])
		}
	}
	site, err := LoadIdentity(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "site.pem"), filepath.Join(dir, "site-key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	centre, err := LoadIdentity(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "centre.pem"), filepath.Join(dir, "centre-key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := func(id string) [][]byte {
		c, err := tls.LoadX509KeyPair(filepath.Join(dir, id+".pem"), filepath.Join(dir, id+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return c.Certificate
	}
	if name, err := site.verifyPlugin(raw("site.smoke")); err != nil || name != "smoke" {
		t.Fatalf("the site's plugin: %q %v", name, err)
	}
	for _, tc := range []struct {
		ident *Identity
		cert  string
		plug  bool
		want  string
	}{
		{centre, "site.smoke", true, "is for node site, not centre"},
		{site, "centre", true, "no kuzet://plugin/"},
		{site, "site", true, "no kuzet://plugin/"},
		{site, "site.smoke", false, "no kuzet://node/"},
	} {
		var err error
		if tc.plug {
			_, err = tc.ident.verifyPlugin(raw(tc.cert))
		} else {
			_, err = tc.ident.verifyPeer(raw(tc.cert))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s checked by %s (plugin %v): %v, want %q", tc.cert, tc.ident.NodeID, tc.plug, err, tc.want)
		}
	}
}
