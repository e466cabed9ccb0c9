package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kuzet/kuzet/agent"
	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/config"
	"github.com/kuzet/kuzet/pki"
	"github.com/kuzet/kuzet/testcam"
)

const demoSiteConfig = `node:
  id: demo-site
  data_dir: %[1]s/site
http:
  listen: %[2]s
archive:
  segment: %[4]s
anpr:
  models: %[6]s
zones:
  - {id: gate-in, kind: entry, name: Entry gate}
  - {id: customs, kind: customs, name: Customs control, dwell_limit: 2m}
  - {id: gate-out, kind: exit, name: Exit gate}
cameras:
  - id: Camera1
    url: %[3]s/cam1
    sub_path: /cam1-sub
    transport: tcp
    direction: entry
    zone: gate-in
    anpr:
      enabled: true
      fps: 2
      countries: [KZ, RU, UA]
      ingest: {format: generic, token: demo-camera1-anpr-token, from: [127.0.0.1/32]}
  - id: Camera2
    url: %[3]s/cam2
    sub_path: /cam2-sub
    transport: udp
    zone: customs
    record: {mode: event, on: [alarm, api]}   # the sub-stream always, the main stream around each alarm
    anpr:
      ingest: {format: generic, token: demo-camera2-anpr-token, from: [127.0.0.1/32]}
  - id: Camera3
    url: %[3]s/gate-unplugged
    offline_after: 5s
    zone: gate-out
    direction: auto
    allowed_direction: exit
    anpr:
      ingest: {format: generic, token: demo-camera3-anpr-token, from: [127.0.0.1/32]}
%[7]s
%[8]s
live: {webrtc: {listen: %[9]q}}
%[10]s
federation:
  upstream: [%[5]s]
  tls: {ca: %[1]s/pki/ca.pem, cert: %[1]s/pki/demo-site.pem, key: %[1]s/pki/demo-site-key.pem}
`

const demoCentreConfig = `node:
  id: demo-centre
  data_dir: %[1]s/centre
http:
  listen: %[2]s
federation:
  listen: %[3]s
  tls: {ca: %[1]s/pki/ca.pem, cert: %[1]s/pki/demo-centre.pem, key: %[1]s/pki/demo-centre-key.pem}
  fragments: {policy: all}
live: {webrtc: {listen: %[5]q}}
%[4]s
%[6]s
`

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "data directory (default: a new temporary directory)")
	httpAddr := fs.String("http", "127.0.0.1:8080", "site node's HTTP API address")
	centreHTTP := fs.String("centre-http", "127.0.0.1:8081", "centre node's HTTP API address")
	fedAddr := fs.String("federation", "127.0.0.1:7443", "centre's QUIC address for child links")
	rtspAddr := fs.String("rtsp", "127.0.0.1:8554", "synthetic camera address")
	webrtcAddr := fs.String("webrtc", "127.0.0.1:8189", "site node's WebRTC address (UDP and TCP)")
	centreWebRTC := fs.String("centre-webrtc", "127.0.0.1:8190", "centre node's WebRTC address (UDP and TCP)")
	segment := fs.String("segment", "1m", "archive segment length (production default 5m)")
	models := fs.String("models", ".cache/anpr", "plate-recognition runtime and models (make anpr-deps)")
	centreSeals := fs.String("centre-seals", "127.0.0.1:8443", "centre's seal-exchange address (the operator KZ.DEMO)")
	partnerHTTP := fs.String("partner-http", "127.0.0.1:8082", "partner operator's HTTP API address")
	partnerSeals := fs.String("partner-seals", "127.0.0.1:8444", "partner's seal-exchange address (the operator RU.DEMO)")
	onvifAddr := fs.String("onvif", "127.0.0.1:3702", "simulated ONVIF PTZ camera's WS-Discovery address (UDP)")
	plugin := fs.String("plugin", "", "the colorchange example plugin (sdk/examples/colorchange) to run on Camera1, started by the site and as a remote plugin (make run builds it)")
	pluginsAddr := fs.String("plugins-listen", "127.0.0.1:7450", "site node's address for remote plugins (mutual TLS)")
	if err := fs.Parse(args); err != nil {
		return parseFailed(err)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "kuzet-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	log := newLogger(config.Log{Format: "text", Level: "info"}, stderr)
	if err := demoPKI(filepath.Join(abs, "pki")); err != nil {
		return fmt.Errorf("demo certificates: %w", err)
	}
	if err := demoOperators(filepath.Join(abs, "pki", "operators")); err != nil {
		return fmt.Errorf("demo operators' certificates: %w", err)
	}
	centreSealsCfg, partnerSealsCfg := demoSealsSections(filepath.Join(abs, "pki", "operators"), *centreSeals, *partnerSeals)
	cam, err := testcam.Start(testcam.Options{Listen: *rtspAddr, Cameras: 2, SubStreams: true, Logger: log.With("component", "testcam")})
	if err != nil {
		return fmt.Errorf("start synthetic camera: %w", err)
	}
	defer cam.Close()
	// an ONVIF PTZ dome on the site's network, not configured yet: an
	// engineer finds it from the centre's console, through the link
	dome, err := testcam.StartONVIF(testcam.ONVIFOptions{Discovery: *onvifAddr, PTZ: true, User: "demo", Password: "demo",
		Name: "Kuzet demo dome", Main: "rtsp://" + cam.Addr() + "/cam1", Sub: "rtsp://" + cam.Addr() + "/cam1-sub"})
	if err != nil {
		return fmt.Errorf("start the simulated ONVIF camera: %w", err)
	}
	defer dome.Close()

	users, err := demoUsers()
	if err != nil {
		return err
	}
	centre, err := demoAgent(abs, "centre.yaml", fmt.Sprintf(demoCentreConfig, abs, *centreHTTP, *fedAddr, users, *centreWebRTC, centreSealsCfg), log.With("node", "demo-centre"))
	if err != nil {
		return err
	}
	partner, err := demoAgent(abs, "partner.yaml", fmt.Sprintf(demoPartnerConfig, abs, *partnerHTTP, users, partnerSealsCfg), log.With("node", "demo-partner"))
	if err != nil {
		return err
	}
	modelDir, err := filepath.Abs(*models)
	if err != nil {
		return err
	}
	relay, err := startDemoRelay(log.With("component", "relay"))
	if err != nil {
		return fmt.Errorf("start the barrier's relay: %w", err)
	}
	defer relay.Close()
	site, err := demoAgent(abs, "site.yaml", fmt.Sprintf(demoSiteConfig, abs, *httpAddr, "rtsp://"+cam.Addr(), *segment,
		centre.FederationAddr(), modelDir, users, demoCheckpoint(relay.URL()), *webrtcAddr, demoPlugins(*plugin, *pluginsAddr)), log.With("node", "demo-site"))
	if err != nil {
		return err
	}
	siteURL, centreURL := "http://"+site.HTTPAddr(), "http://"+centre.HTTPAddr()
	fmt.Fprintf(stdout, `
Kuzet demo running (Ctrl-C to stop)
  synthetic camera  rtsp://%[1]s/cam1  rtsp://%[1]s/cam2   (sub-streams 640x360: cam1-sub, cam2-sub)
  data              %[2]s   (site.yaml, centre.yaml, pki/)
  site archive      %[2]s/site/archive   (Camera/Year/Month/Day/Hour/File.mp4, %[4]s segments)
  plate reads       %[3]s/api/v1/events   (kind plate.read: Camera1 reads the trucks' plates;
                    snapshots in %[2]s/site/plates)
  camera's own ANPR curl -H 'Authorization: Bearer demo-camera1-anpr-token' -d '{"plate":"777KZA02","confidence":0.7}' \
                      %[3]s/api/v1/cameras/Camera1/plates   (a read the camera made itself: source camera;
                    journaled before the 200, so a killed node still stores it)
  visits            %[3]s/api/v1/visits   (zones gate-in, customs, gate-out: each truck Camera1 reads at
                    the entry opens a visit; post its plate as above to Camera2 (customs, demo-camera2-anpr-token)
                    and Camera3 (the exit, demo-camera3-anpr-token) and it gains a passage, then closes;
                    two minutes at customs raise dwell_exceeded; %[3]s/api/v1/visits/dwell: time per zone;
                    %[5]s/api/v1/visits lists the same at the centre)
  crossing          %[5]s/#/visits   (the checkpoint: each truck Camera1 reads gets a card at the entry reader,
                    shows it at customs, and leaves when customs and the owner have both granted its exit: the
                    exit barrier's relay at %[6]s logs each opening. The first truck's card (and every third
                    after) does not match at customs, one case at a time: its case waits for the operator's three
                    attempts in the site's console %[3]s/#/visits; the second (and every fourth after) reverses in the exit
                    lane first: a wrong-direction violation.
                    %[3]s/api/v1/cases  %[3]s/api/v1/barriers)
  uncertain reads   %[5]s/ console, "Uncertain reads" (reads below anpr.review_below; confirm or correct)
  event recording   Camera2 (customs) records its sub-stream always and its main stream from 10 s before each
                    alarm on it (a truck too long at customs) to 20 s after: %[5]s/#/archive shows both, the
                    sub-stream in the lower half, and plays the main stream wherever it was recorded
  find cameras      %[5]s/#/tree   (as engineer or admin: "Find cameras (ONVIF)" at node demo-site, also probe
                    %[8]s, login demo/demo: the probe goes out at the site through the link and finds a
                    simulated PTZ dome; Describe shows its two streams, Add camera the lines for the site's file)
  event log         %[3]s/api/v1/events/retention   (as engineer: how far back the log reaches (a year by
                    default), each reader's position (the uplink, the indexes), and which one keeps events past
                    their retention; audit entries leave it only after an audit.checkpoint attests the chain)
  site node         %[3]s/api/v1/cameras
                    %[3]s/api/v1/cameras/Camera1/segments
                    %[3]s/api/v1/federation   (link to the centre: RTT, clock offset, backlog)
                    %[3]s/metrics
  console           %[5]s/   (the operator console: log in as operator/kuzet-operator)
                    %[3]s/   (the site's own)
  live over WebRTC  %[5]s/#/live   (tiles play over WebRTC, about 0.05 s behind the camera, each showing its
                    true delay; "Live over: HLS" in the toolbar for comparison, about a second behind;
                    tiles of a 3x3 grid play the cameras' 640x360 sub-streams, a maximised one the main stream)
  the last minutes  %[5]s/#/plates   (a truck read a moment ago plays at the centre at once, from the
                    file the site is still writing; on a live tile, ⟲ 30 s (or r) replays its last 30 s)
  fifty sites       %[5]s/#/health   (every node asked now: cameras, recording, fps, disk, uplink, worst first);
                    Plates: Live reads, and a Watch-list whose plates raise an alarm with the photo when read;
                    Archive: Export package… (several cameras, a reason, signed; kuzet export verify PKG --ca pki/ca.pem)
  seal exchange     %[5]s/#/plates   (the centre is the operator KZ.DEMO; RU.DEMO at %[7]s is its partner. The first
                    truck the centre sees is sealed (RU-DEMO-0001) on a route to Khorgos; its seal reports every 2 s,
                    leaves the route (03) and goes quiet (06 two minutes later): alarms at the centre, reports to RU.DEMO
                    (%[7]s/api/v1/seals/messages), and each later read of the truck a grave alarm with its photo;
                    open a read of it in Plates for its seal and track; %[5]s/api/v1/seals/partners)
  centre node       %[5]s/api/v1/federation   (children)
                    %[5]s/api/v1/events       (the site's events, replicated over QUIC)
                    %[5]s/api/v1/tree         (centre -> site -> cameras, with status)
  logins            admin/kuzet-admin  engineer/kuzet-engineer  operator/kuzet-operator  viewer/kuzet-viewer
                    customs/kuzet-customs  owner/kuzet-owner  (the two keys of the exit barrier)
                    (curl: POST /api/v1/auth/login {"user","password"}, then the cookie)

`, cam.Addr(), abs, siteURL, *segment, centreURL, relay.URL(), "http://"+partner.HTTPAddr(), dome.DiscoveryAddr())

	if *plugin != "" {
		fmt.Fprintf(stdout, `  plugins           %[1]s/#/plugins   (as engineer: colorchange on Camera1, started by the site, and
                    colorchange-remote on Camera1 too, another process connecting to %[2]s over mutual TLS with
                    pki/demo-site.colorchange-remote.pem, as a plugin on a machine of its own would; their
                    color_change events and alarms reach the centre; Restart starts the first again)

`, siteURL, *pluginsAddr)
		go runDemoRemotePlugin(ctx, *plugin, filepath.Join(abs, "pki"), *pluginsAddr, log.With("component", "remote-plugin"))
	}
	go runDemoCrossing(ctx, siteURL, log.With("component", "crossing"))
	go runDemoSeals(ctx, centreURL, log.With("component", "seals"))
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, a := range []*agent.Agent{centre, site, partner} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.Run(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// demoLogins are the demo's users, printed at start: one of each role.
var demoLogins = [][3]string{
	{"admin", "admin", "kuzet-admin"},
	{"engineer", "engineer", "kuzet-engineer"},
	{"operator", "operator", "kuzet-operator"},
	{"viewer", "viewer", "kuzet-viewer"},
	{"customs", "operator", "kuzet-customs"},
	{"owner", "operator", "kuzet-owner"},
}

// demoUsers is the users: section of both demo nodes.
func demoUsers() (string, error) {
	var b strings.Builder
	b.WriteString("users:\n")
	p := auth.DefaultParams
	p.Memory, p.Time = 8*1024, 1 // demo passwords: quick logins
	for _, u := range demoLogins {
		h, err := auth.HashPasswordParams(u[2], p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "  - {name: %s, role: %s, password_hash: %q}\n", u[0], u[1], h)
	}
	return b.String(), nil
}

// demoPKI creates the demo federation's CA and node certificates once.
func demoPKI(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, pki.CACertFile)); err != nil {
		if err := pki.InitCA(dir, "Kuzet demo CA", 365*24*time.Hour); err != nil {
			return err
		}
	}
	for _, id := range []string{"demo-centre", "demo-site"} {
		if _, err := os.Stat(filepath.Join(dir, id+".pem")); err == nil {
			continue
		}
		if _, err := pki.IssueNode(dir, id, dir, time.Time{}, 365*24*time.Hour); err != nil {
			return err
		}
	}
	return nil
}

func demoAgent(dir, name, yaml string, log *slog.Logger) (*agent.Agent, error) {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	cfg, err := config.Parse([]byte(yaml), config.Options{})
	if err != nil {
		return nil, fmt.Errorf("demo %s: %w", name, err)
	}
	return agent.New(cfg, log, agent.Options{Version: version})
}
