package agent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/anpr"
	"github.com/kuzet/kuzet/audit"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
	"github.com/kuzet/kuzet/testcam"
)

// cameraJPEG is a picture as a camera would send it.
func cameraJPEG(t *testing.T, w, h int, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{shade, uint8(x), uint8(y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fromAddr is an HTTP client whose connections leave from a loopback
// address of its own, as a camera's would from the camera.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// Cameras with their own ANPR post their plate events: a Hikvision ANPR
// alert with its pictures, a Dahua traffic event, the generic JSON. Each
// becomes a plate.read from the camera with its pictures; repeated events
// of one vehicle are one read; every refusal is answered and audited.
func TestCameraPlateEvents(t *testing.T) {
	dir := t.TempDir()
	a, stop := startAgent(t, fmt.Sprintf(`
node: {id: ingest, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0", allow: [127.0.0.1]}
cameras:
  - id: Gate1
    url: "rtsp://127.0.0.1:1/gate1"
    disabled: true
    direction: auto
    anpr: {countries: [UA], ingest: {token: gate1-secret-0123456789}}
  - id: Gate2
    url: "rtsp://admin:pw@127.0.0.1:1/Streaming/Channels/101"
    disabled: true
    anpr: {ingest: {format: hikvision, token: gate2-secret-0123456789}}
  - id: Gate3
    url: "rtsp://10.0.0.9:554/cam/realmonitor?channel=1"
    disabled: true
    direction: exit
    anpr: {ingest: {format: dahua, token: gate3-secret-0123456789, from: [127.0.0.2]}}
  - {id: Camera4, url: "rtsp://127.0.0.1:1/plain", disabled: true}
`, dir))
	base := "http://" + a.HTTPAddr()
	post := func(c *http.Client, path, ctype string, hdr http.Header, body []byte) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	local, gate3Host, stranger := fromAddr("127.0.0.1"), fromAddr("127.0.0.2"), fromAddr("127.0.0.3")
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	// Hikvision: the ANPR alert and its two pictures, the token in the URL
	plateJPEG, sceneJPEG := cameraJPEG(t, 120, 30, 10), cameraJPEG(t, 320, 180, 20)
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	for _, p := range []struct {
		name, ctype string
		data        []byte
	}{
		{"anpr.xml", "application/xml", []byte(`<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>127.0.0.1</ipAddress><portNo>80</portNo><protocol>HTTP</protocol><channelID>1</channelID>
<dateTime>` + time.Now().UTC().Add(-300*time.Millisecond).Format("2006-01-02T15:04:05.000Z07:00") + `</dateTime>
<activePostCount>1</activePostCount><eventType>ANPR</eventType><eventState>active</eventState><eventDescription>ANPR</eventDescription>
<ANPR><country>KAZ</country><licensePlate>123ABC02</licensePlate><line>1</line><direction>forward</direction>
<confidenceLevel>96</confidenceLevel><plateType>unknown</plateType><plateColor>white</plateColor><vehicleType>truck</vehicleType>
<pictureInfoList><pictureInfo><fileName>licensePlatePicture.jpg</fileName><type>licensePlatePicture</type></pictureInfo>
<pictureInfo><fileName>detectionPicture.jpg</fileName><type>detectionPicture</type>
<plateRect><X>100</X><Y>120</Y><width>60</width><height>16</height></plateRect></pictureInfo></pictureInfoList>
</ANPR><UUID>0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0</UUID><picNum>2</picNum></EventNotificationAlert>`)},
		{"licensePlatePicture.jpg", "image/jpeg", plateJPEG},
		{"detectionPicture.jpg", "image/jpeg", sceneJPEG},
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.name))
		h.Set("Content-Type", p.ctype)
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write(p.data)
	}
	_ = w.Close()
	if code, body := post(local, "/api/v1/cameras/Gate2/plates?token=gate2-secret-0123456789", w.FormDataContentType(), nil, mp.Bytes()); code != 200 || !strings.Contains(body, `"plate": "123ABC02"`) {
		t.Fatalf("Hikvision event: %d %s", code, body)
	}
	// a heartbeat to the same URL is taken and ignored
	if code, body := post(local, "/api/v1/cameras/Gate2/plates?token=gate2-secret-0123456789", "application/xml", nil,
		[]byte(`<EventNotificationAlert><eventType>videoloss</eventType><eventState>inactive</eventState></EventNotificationAlert>`)); code != 200 || !strings.Contains(body, "ignored") {
		t.Fatalf("heartbeat: %d %s", code, body)
	}

	// Dahua: the traffic event from the camera's address (not in
	// http.allow), the token as the Basic password
	dahua := fmt.Sprintf(`{"Action": "Pulse", "Code": "TrafficJunction", "Index": 0, "Data": {
		"Class": "Traffic", "Name": "ANPR0", "Lane": 1, "RealUTC": %d, "UTC": %d, "UTCMS": 120,
		"Object": {"ObjectType": "Plate", "Text": "A123BC77", "Confidence": 88, "BoundingBox": [2048, 4096, 3072, 4608]},
		"TrafficCar": {"PlateNumber": "A123BC77", "PlateColor": "White", "Country": "RU", "VehicleColor": "Blue", "Event": "TrafficJunction"},
		"CommInfo": {"Country": null}}}`, time.Now().Unix(), time.Now().Unix()+5*3600)
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:gate3-secret-0123456789"))}}
	if code, body := post(gate3Host, "/api/v1/cameras/Gate3/plates", "application/json", basic, []byte(dahua)); code != 200 || !strings.Contains(body, "A123BC77") {
		t.Fatalf("Dahua event: %d %s", code, body)
	}

	// generic JSON: one vehicle reported twice within a second (the second
	// time misread), with a plate picture
	crop := base64.StdEncoding.EncodeToString(cameraJPEG(t, 100, 24, 30))
	for i, ev := range []string{
		`{"plate": "AA 1234 BB", "confidence": 0.81, "direction": "exit"}`,
		`{"plate": "AA1234B8", "confidence": 62, "direction": "exit", "crop": "` + crop + `"}`,
	} {
		if code, body := post(local, "/api/v1/cameras/Gate1/plates", "application/json", bearer("gate1-secret-0123456789"), []byte(ev)); code != 200 {
			t.Fatalf("generic event %d: %d %s", i, code, body)
		}
		time.Sleep(700 * time.Millisecond)
	}

	// refusals, each answered and audited
	for _, c := range []struct {
		name   string
		client *http.Client
		path   string
		hdr    http.Header
		code   int
		says   string
	}{
		{"wrong token", local, "/api/v1/cameras/Gate1/plates", bearer("gate1-secret-0123456780"), 401, "wrong token"},
		{"no token", local, "/api/v1/cameras/Gate1/plates", nil, 401, "no token"},
		{"another camera's token", local, "/api/v1/cameras/Gate1/plates?token=gate2-secret-0123456789", nil, 401, "wrong token"},
		{"another camera's address", gate3Host, "/api/v1/cameras/Gate1/plates", bearer("gate3-secret-0123456789"), 403, "does not post from 127.0.0.2"},
		{"wrong address", local, "/api/v1/cameras/Gate3/plates", basic, 403, "does not post from 127.0.0.1"},
		{"camera without ingest", local, "/api/v1/cameras/Camera4/plates", bearer("gate1-secret-0123456789"), 404, "takes no plate events"},
		{"stranger", stranger, "/api/v1/cameras/Gate1/plates", bearer("gate1-secret-0123456789"), 403, "is not allowed"},
	} {
		code, body := post(c.client, c.path, "application/json", c.hdr, []byte(`{"plate": "666XXX66"}`))
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, code, body, c.code, c.says)
		}
	}
	// the camera's address reaches its events only, not the rest of the API
	if resp, err := gate3Host.Get(base + "/api/v1/node"); err != nil || resp.StatusCode != 403 {
		t.Errorf("the rest of the API from a camera's address: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// a malformed event names what is wrong
	if code, body := post(local, "/api/v1/cameras/Gate1/plates", "application/json", bearer("gate1-secret-0123456789"), []byte(`{"plate": "123ABC02", "confidence": 400}`)); code != 400 || !strings.Contains(body, "confidence") {
		t.Errorf("malformed: %d %s", code, body)
	}

	// the reads leave once their passes end (5 s without a read)
	reads := map[string]plates.PlateRead{}
	var times = map[string]time.Time{}
	deadline := time.Now().Add(30 * time.Second)
	for len(reads) < 3 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == plates.KindPlateRead })
		for _, e := range evs {
			var pr plates.PlateRead
			_ = json.Unmarshal(e.Payload, &pr)
			reads[e.Camera] = pr
			times[e.Camera] = e.Time
		}
	}
	time.Sleep(anpr.ExternalGap + time.Second) // nothing more comes
	evs, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == plates.KindPlateRead })
	if len(evs) != 3 {
		t.Fatalf("%d plate reads, want 3 (one per vehicle): %v", len(evs), reads)
	}
	snapshot := func(rel string) []byte {
		b, err := os.ReadFile(filepath.Join(a.PlatesDir(), filepath.FromSlash(rel)))
		if err != nil || rel == "" {
			t.Errorf("snapshot %q: %v", rel, err)
		}
		return b
	}
	hik := reads["Gate2"]
	if hik.Plate != "123ABC02" || hik.Source != plates.SourceCamera || hik.Country != "KZ" || hik.Confidence < 0.9 || hik.Direction != "entry" || hik.Frames != 1 {
		t.Errorf("Hikvision read %+v", hik)
	}
	if !bytes.Equal(snapshot(hik.Overview), sceneJPEG) || !bytes.Equal(snapshot(hik.Crop), plateJPEG) {
		t.Error("the Hikvision read's snapshots are not the camera's pictures")
	}
	if d := time.Since(times["Gate2"]); d < 0 || d > 30*time.Second {
		t.Errorf("Hikvision read filed at %v", times["Gate2"])
	}
	dh := reads["Gate3"]
	if dh.Plate != "A123BC77" || dh.Source != plates.SourceCamera || dh.Country != "RU" || dh.Direction != "exit" || dh.Overview != "" || dh.Crop != "" {
		t.Errorf("Dahua read %+v", dh)
	}
	if d := time.Since(times["Gate3"]); d < 0 || d > 30*time.Second { // RealUTC, not the local time in UTC
		t.Errorf("Dahua read filed at %v", times["Gate3"])
	}
	gen := reads["Gate1"]
	if gen.Plate != "AA1234BB" || gen.Frames != 2 || gen.Source != plates.SourceCamera || gen.Direction != "exit" || gen.Country != "UA" ||
		gen.Crop == "" || len(gen.Candidates) != 2 || gen.Last.Sub(gen.First) < 500*time.Millisecond {
		t.Errorf("generic read %+v", gen)
	}

	// refusals in the audit log: all but the stranger's
	entries, _ := a.Events().Search(0, func(e event.Event) bool { return e.Kind == audit.Kind })
	refused := 0
	for _, e := range entries {
		var p audit.Payload
		_ = json.Unmarshal(e.Payload, &p)
		if p.Action == "camera.plates.refused" {
			refused++
			if strings.Contains(p.Detail, "secret") {
				t.Errorf("a token in the audit log: %+v", p)
			}
		}
	}
	if refused != 6 {
		t.Errorf("%d refusals audited, want 6", refused)
	}
	resp, err := local.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`kuzet_camera_plate_events_total{camera="Gate1",result="accepted"} 2`,
		`kuzet_camera_plate_events_total{camera="Gate2",result="ignored"} 1`,
		`kuzet_camera_plate_events_total{camera="",result="refused"} 1`, // a name no camera has is not a label
		`kuzet_camera_plate_events_total{camera="Gate1",result="refused"} 5`,
		`kuzet_camera_plate_events_total{camera="Gate1",result="invalid"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(string(metrics), "kuzet_camera_plate"))
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// a stopped node takes nothing more, and nothing was left open
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.anpr.External(ctx, "Gate1", anpr.ExternalRead{Text: "AA1234BB"}); err == nil {
		t.Error("a stopped node took a read")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The node reads the synthetic camera's trucks itself, and the camera
// reports one of them too: the two reads of the truck are one plate.read
// (node+camera), with the node's frame as its snapshots.
func TestCameraReadJoinsTheNodesPass(t *testing.T) {
	models, _ := filepath.Abs("../.cache/anpr")
	if _, err := os.Stat(filepath.Join(models, "libonnxruntime.so.1")); err != nil {
		t.Fatalf("plate models missing in %s: run make anpr-deps", models)
	}
	src, err := testcam.Start(testcam.Options{Listen: "127.0.0.1:0", DisableUDP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a, _ := startAgent(t, fmt.Sprintf(`
node: {id: merge, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
archive: {segment: 10s}
anpr: {models: %s}
cameras:
  - id: Camera1
    url: %q
    anpr: {enabled: true, fps: 2, countries: [KZ, RU, UA], ingest: {format: generic, token: camera1-secret-0123456789}}
`, t.TempDir(), models, src.URL("cam1")))
	const plate = "123ABC02"
	readsOf := func() []event.Event {
		evs, _ := a.Events().Search(0, func(e event.Event) bool {
			var pr plates.PlateRead
			return e.Kind == plates.KindPlateRead && json.Unmarshal(e.Payload, &pr) == nil && pr.Plate == plate
		})
		return evs // newest first
	}
	payload := func(e event.Event) plates.PlateRead {
		var pr plates.PlateRead
		_ = json.Unmarshal(e.Payload, &pr)
		return pr
	}
	// the node reads the truck on its own first
	var first plates.PlateRead
	for deadline := time.Now().Add(75 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if evs := readsOf(); len(evs) > 0 {
			first = payload(evs[0])
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node never read %s", plate)
		}
	}
	if first.Source != "" {
		t.Fatalf("the node's own read has source %q", first.Source)
	}
	// the clip loops every 20 s: when the truck is back, the camera reports it
	mid := first.First.Add(first.Last.Sub(first.First) / 2)
	for attempt := 0; attempt < 3; attempt++ {
		next := mid
		for !next.After(time.Now().Add(time.Second)) {
			next = next.Add(20 * time.Second)
		}
		time.Sleep(time.Until(next))
		seen := len(readsOf())
		req, _ := http.NewRequest("POST", "http://"+a.HTTPAddr()+"/api/v1/cameras/Camera1/plates",
			strings.NewReader(`{"plate": "123 ABC 02", "confidence": 0.95}`))
		req.Header.Set("Authorization", "Bearer camera1-secret-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("camera event: %d", resp.StatusCode)
		}
		var got []plates.PlateRead
		for deadline := time.Now().Add(25 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			evs := readsOf()
			if got = nil; len(evs) > seen {
				for _, e := range evs[:len(evs)-seen] {
					got = append(got, payload(e))
				}
			}
			if len(got) > 0 && (got[0].Source == plates.SourceNodeCamera || time.Since(next) > 15*time.Second) {
				break
			}
		}
		for _, pr := range got {
			t.Logf("loop %d: %s source %q frames %d %v..%v", attempt, pr.Plate, pr.Source, pr.Frames, pr.First, pr.Last)
		}
		if len(got) == 1 && got[0].Source == plates.SourceNodeCamera {
			pr := got[0]
			if pr.Overview == "" || pr.Crop == "" || pr.Direction != "entry" || pr.Frames < 2 {
				t.Fatalf("merged read %+v", pr)
			}
			return
		}
		if len(got) == 2 {
			t.Fatalf("the truck's pass was filed twice: %+v", got)
		}
		// the loaded machine dropped the truck's frames this loop: try the next
	}
	t.Fatal("the camera's read never joined the node's pass")
}
