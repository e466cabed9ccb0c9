package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kuzet/kuzet/config"
)

// make run's demo runs the colorchange example on Camera1, and as a
// remote plugin on Camera2: the block it adds to the site's configuration
// is valid and names the binary by its absolute path.
func TestDemoPlugins(t *testing.T) {
	if demoPlugins("", "127.0.0.1:7450") != "" {
		t.Fatal("a plugin block without a plugin")
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf("node: {id: demo-site, data_dir: %s}\ncameras: [{id: Camera1, url: \"rtsp://127.0.0.1:8554/cam1\"}]\n"+
		"federation: {tls: {ca: ca.pem, cert: demo-site.pem, key: demo-site-key.pem}}\n%s\n",
		t.TempDir(), demoPlugins("bin/colorchange", "127.0.0.1:7450"))), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Plugins) != 2 || !filepath.IsAbs(cfg.Plugins[0].Command) || cfg.Plugins[0].Cameras[0] != "Camera1" || cfg.Plugins[0].Frames.Format != "rgb24" ||
		!cfg.Plugins[1].Remote || cfg.Plugins[1].Cameras[0] != "Camera1" || cfg.PluginsListen != "127.0.0.1:7450" {
		t.Fatalf("plugins %+v", cfg.Plugins)
	}
}
