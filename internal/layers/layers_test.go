package layers

import (
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/internal/testkit"
)

const mod = "github.com/kuzet/kuzet/"

// leaves import no kuzet package: everything may build on them.
var leaves = []string{"event", "media", "netaddr", "pki", "plates/platetext", "web", "internal/httpjson", "seals", "onvif", "internal/sdnotify", "internal/boltfile", "archive/objstore"}

// forbidden lists, per package, what it may not import (package paths
// relative to the module, or a module outside it).
var forbidden = map[string][]string{
	"config":     {"*"},
	"replicate":  {"federation", "archive", "github.com/quic-go/quic-go"},
	"federation": {"site", "api", "agent", "archive", "anpr", "plates"},
	"api":        {"anpr", "agent", "federation", "topology"},
	"plates":     {"anpr", "api", "agent", "federation"},
	"live":       {"site", "anpr", "agent", "federation"},
	"restream":   {"site", "anpr", "agent", "federation"},
	"tamper":     {"site", "anpr", "agent", "federation"},
	// when to record is decided on units, frames and triggers alone
	"record": {"site", "archive", "agent", "federation", "anpr", "api", "config", "live"},
	// the frame decoder knows codecs (media) and ffmpeg, nothing else
	"decode":     {"site", "anpr", "agent", "federation", "archive", "live", "tamper", "api", "plates"},
	"site":       {"federation", "api", "agent", "archive", "anpr"},
	"topology":   {"federation", "agent", "api"},
	"archive":    {"federation", "replicate", "api", "agent", "site"},
	"anpr":       {"api", "agent", "federation", "archive"},
	"alarm":      {"api", "agent", "federation"},
	"plateapi":   {"anpr", "federation", "agent"},
	"checkpoint": {"anpr", "api", "agent", "federation", "site", "archive", "topology"},
	// the seal exchange is a role of its own: it knows the message model
	// and nothing else of the node
	"seals/exchange": {"anpr", "api", "agent", "federation", "site", "archive", "topology", "alarm", "plates", "checkpoint", "replicate"},
	// plugins see cameras through a frame source and the archive through
	// two functions
	"plugin": {"site", "archive", "agent", "federation", "api", "anpr", "plates", "alarm", "config"},
	// the clock check knows NTP and the event it raises, nothing else
	"timesync": {"anpr", "api", "agent", "federation", "site", "archive", "topology", "alarm", "plates", "config"},
}

// onlyIn names outside modules that one package alone may import.
var onlyIn = map[string][]string{
	"github.com/quic-go/quic-go":       {"federation"},
	"github.com/yalue/onnxruntime_go":  {"anpr"},
	"github.com/hashicorp/raft":        {"topology"},
	"github.com/beevik/ntp":            {"timesync"},
	"github.com/minio/minio-go/v7":     {"archive/objstore", "archive/objstore/s3test"},
	"github.com/bluenviron/gortsplib/": {"site", "restream", "testcam", "live/livetest", "internal/rtspserve"},
}

func TestImportRules(t *testing.T) {
	root, err := testkit.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[strings.TrimPrefix(f[0], mod)] = f[1:]
	}
	for _, l := range leaves {
		forbidden[l] = []string{"*"}
	}
	var bad []string
	for pkg, imps := range imports {
		if strings.HasPrefix(pkg, "bench/") || strings.HasPrefix(pkg, "internal/") && !contains(leaves, pkg) {
			continue // harnesses wire whatever they measure
		}
		for _, imp := range imps {
			rel, own := strings.CutPrefix(imp, mod)
			if own && rel == "agent" && pkg != "cmd/node" {
				bad = append(bad, pkg+" imports agent: only the command wires a node")
			}
			if own && rules(pkg, rel, true) && !(pkg == "config" && rel == "netaddr") {
				bad = append(bad, pkg+" imports "+rel)
			}
			if !own && rules(pkg, imp, false) {
				bad = append(bad, pkg+" imports "+imp)
			}
			for ext, may := range onlyIn {
				if strings.HasPrefix(imp, ext) && !contains(may, pkg) && !strings.HasPrefix(pkg, "cmd/") {
					bad = append(bad, pkg+" imports "+imp+", which only "+strings.Join(may, ", ")+" may")
				}
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
	for pkg := range forbidden {
		if _, ok := imports[pkg]; !ok {
			t.Errorf("the rules name %s, which is no package of the module", pkg)
		}
	}
}

// rules reports whether pkg may not import imp ("*": no kuzet package;
// own tells whether imp is one).
func rules(pkg, imp string, own bool) bool {
	for _, f := range forbidden[pkg] {
		if f == "*" && own || f == imp || strings.HasPrefix(imp, f+"/") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s || strings.HasPrefix(s, x+"/") {
			return true
		}
	}
	return false
}
