package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kuzet/kuzet/archive"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/internal/mediatest"
	"github.com/kuzet/kuzet/internal/netfault"
	"github.com/kuzet/kuzet/internal/testkit"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/testcam"
)

// NVMS-6.17/6.18/6.7/6.9: three node processes, site → region → centre.
// The site–region link is cut for a while; the site keeps recording and
// reading plates, and is restarted once. After the link returns, every
// site event reaches the centre exactly once and in order, and every
// segment arrives byte-identical.
func TestThreeTierProcesses(t *testing.T) {
	testkit.Long(t)
	if testing.Short() {
		t.Skip("runs three nodes for about a minute")
	}
	models, _ := filepath.Abs("../../.cache/anpr")
	if _, err := os.Stat(filepath.Join(models, "libonnxruntime.so.1")); err != nil {
		t.Fatalf("plate models missing in %s: run make anpr-deps", models)
	}
	cam, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	dir := t.TempDir()
	pkiDir := filepath.Join(dir, "pki")
	if err := pki.InitCA(pkiDir, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"centre", "region", "site"} {
		if _, err := pki.IssueNode(pkiDir, id, pkiDir, time.Time{}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	centreAddr, regionAddr := testkit.Port(t), testkit.Port(t)
	relay, err := netfault.NewRelay(regionAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	write := func(id, body string) string {
		p := filepath.Join(dir, id+".yaml")
		cfg := fmt.Sprintf("node: {id: %s, data_dir: %s/%s, time_zone: UTC}\nhttp: {listen: \"127.0.0.1:0\"}\n", id, dir, id) +
			body + fmt.Sprintf("  heartbeat: 200ms\n  link_down_after: 2s\n  tls: {ca: %[1]s/ca.pem, cert: %[1]s/%[2]s.pem, key: %[1]s/%[2]s-key.pem}\n", pkiDir, id)
		if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	centreCfg := write("centre", fmt.Sprintf("federation:\n  listen: %s\n  descendants: {region: [site]}\n", centreAddr))
	regionCfg := write("region", fmt.Sprintf("federation:\n  listen: %s\n  upstream: [%s]\n", regionAddr, centreAddr))
	siteCfg := write("site", fmt.Sprintf(`archive: {segment: 4s}
anpr: {models: %s}
cameras:
  - id: Camera1
    url: %s
    direction: entry
    anpr: {enabled: true, fps: 2, countries: [KZ, RU, UA]}
federation:
  upstream: [%s]
`, models, cam.URL("cam1"), relay.Addr()))

	stop := func(n *node) {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			t.Fatalf("node did not stop:\n%s", n.log)
		}
	}
	centre := startNode(t, centreCfg)
	region := startNode(t, regionCfg)
	site := startNode(t, siteCfg)
	select {
	case <-site.streaming:
	case <-time.After(20 * time.Second):
		t.Fatalf("site never streamed:\n%s", site.log)
	}
	time.Sleep(8 * time.Second)
	relay.Cut()
	cutAt := time.Now()
	time.Sleep(8 * time.Second)
	stop(site) // restarted while cut off
	site = startNode(t, siteCfg)
	time.Sleep(8 * time.Second)
	relay.Heal()
	healAt := time.Now()
	time.Sleep(20 * time.Second) // replay under no cap: seconds are plenty
	stop(site)
	stop(region)
	stop(centre)

	siteLog, err := event.OpenLog(filepath.Join(dir, "site", "events.db"), "site", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer siteLog.Close()
	centreLog, err := event.OpenLog(filepath.Join(dir, "centre", "events.db"), "centre", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer centreLog.Close()
	own, _ := siteLog.Range(0, 0)
	atCentre, _ := centreLog.Range(0, 0)
	var seqs []uint64
	platesWhileCut := 0
	for _, e := range atCentre {
		if e.Origin != "site" {
			continue
		}
		seqs = append(seqs, e.Seq)
		if e.Kind == plates.KindPlateRead && e.Time.After(cutAt) && e.Time.Before(healAt) {
			platesWhileCut++
		}
	}
	// every site event stored before the heal plus a margin is at the centre
	due := 0
	for _, e := range own {
		if e.Time.Before(healAt.Add(5 * time.Second)) {
			due++
		}
	}
	for i, s := range seqs {
		if s != own[0].Inc+uint64(i+1) {
			t.Fatalf("site events at the centre out of order, duplicated or missing at %d: seq %d", i, s)
		}
	}
	if len(seqs) < due {
		t.Fatalf("centre holds %d site events; %d were due", len(seqs), due)
	}
	if platesWhileCut == 0 {
		t.Fatal("no plate read during the cut reached the centre")
	}

	// segments: everything the centre learnt of is there, byte-identical,
	// and that covers every segment closed before the heal
	siteIdx, err := archive.OpenIndex(filepath.Join(dir, "site", "archive.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer siteIdx.Close()
	segs, _ := siteIdx.Segments("Camera1", time.Time{}, time.Time{})
	checked := 0
	for _, s := range segs {
		if !s.End.Before(healAt) {
			continue
		}
		for _, tier := range []string{"region", "centre"} {
			replica := filepath.Join(dir, tier, "archive", archive.ReplicaDir, "site", filepath.FromSlash(s.Path))
			if _, err := os.Stat(replica); err != nil {
				t.Fatalf("%s lacks %s: %v", tier, s.Path, err)
			}
			if got := mediatest.SHA256(t, replica); got != s.SHA256 {
				t.Fatalf("%s copy of %s: sha256 %s, want %s", tier, s.Path, got, s.SHA256)
			}
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d segments closed before the heal", checked)
	}
	t.Logf("%d site events at the centre exactly once (%d due), %d plate reads made while cut off, %d segments byte-identical at region and centre",
		len(seqs), due, platesWhileCut, checked)
}
