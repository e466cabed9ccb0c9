package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/auth"
	"github.com/kuzet/kuzet/event"
	"github.com/kuzet/kuzet/plates"
)

// TestBrowserUncertainReads runs web/e2e/uncertain.mjs in headless
// Chromium against a node holding six plate reads, five of them below
// its threshold: the operator opens the queue from the navigation and its
// badge, enlarges an overview, moves with j/k, confirms a read with
// Enter, corrects one with a candidate and one by typing, sees the error
// when a read was confirmed elsewhere meanwhile; a viewer sees the queue
// read-only. The audit log then holds the operator's acts.
func TestBrowserUncertainReads(t *testing.T) {
	ctx, rig := newBrowserRig(t)

	dir := t.TempDir()
	var users strings.Builder
	p := auth.DefaultParams
	p.Memory, p.Time = 1024, 1 // cheap for tests
	for _, u := range [][2]string{{"operator", "operator"}, {"viewer", "viewer"}, {"admin", "admin"}} {
		h, err := auth.HashPasswordParams("kuzet-"+u[0], p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&users, "  - {name: %s, role: %s, password_hash: %q}\n", u[0], u[1], h)
	}
	a := startNode(t, ctx, fmt.Sprintf(`
node: {id: centre, data_dir: %s, time_zone: UTC}
http: {listen: "127.0.0.1:0"}
anpr: {review_below: 0.9}
users:
%s`, dir, users.String()))

	// six reads with their photos, as the analyzer stores them
	now := time.Now().UTC().Truncate(time.Second)
	reads := map[string]string{}
	for _, r := range []struct {
		name, plate string
		conf        float64
		alt         string
		ago         time.Duration
	}{
		{"r6", "KZ777A", 0.50, "KZ7774", 5 * time.Minute},
		{"r1", "123ABD02", 0.55, "123ABC02", 4 * time.Minute},
		{"r2", "A123BC7", 0.62, "A123BC77", 3 * time.Minute},
		{"r3", "AA1234BB", 0.70, "AA1284BB", 2 * time.Minute},
		{"r4", "456KTA05", 0.80, "456KTA06", time.Minute},
		{"r5", "777KZ02", 0.97, "", 0}, // confident: not queued
	} {
		at := now.Add(-r.ago)
		base := fmt.Sprintf("Camera1/%s/%s_%s", at.Format("2006/01/02"), at.Format("150405.000"), r.plate)
		writeJPEG(t, filepath.Join(a.PlatesDir(), base+"_overview.jpg"), 640, 360)
		writeJPEG(t, filepath.Join(a.PlatesDir(), base+"_crop.jpg"), 200, 60)
		pr := plates.PlateRead{Plate: r.plate, Country: "KZ", Confidence: r.conf, Direction: "entry", First: at, Last: at.Add(2 * time.Second),
			Frames: 7, Overview: base + "_overview.jpg", Crop: base + "_crop.jpg",
			Candidates: []plates.Candidate{{Text: r.plate, Country: "KZ", Confidence: r.conf}}}
		if r.alt != "" {
			pr.Candidates = append(pr.Candidates, plates.Candidate{Text: r.alt, Country: "KZ", Confidence: r.conf * 0.75})
		}
		e := event.New(plates.KindPlateRead, "Camera1", event.SeverityInfo, pr)
		e.Time = at
		stored, err := a.Events().Append(e)
		if err != nil {
			t.Fatal(err)
		}
		reads[r.name] = stored.ID()
	}

	base := "http://" + a.HTTPAddr()
	admin := loginClient(t, base, "admin")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var q struct{ Total int }
		if code, body := admin.get("/api/v1/plates/uncertain?count=1"); code == 200 && json.Unmarshal([]byte(body), &q) == nil && q.Total == 5 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the reads never reached the queue: %d %s", code, body)
		}
	}

	readsJSON, _ := json.Marshal(reads)
	rig.run(t, ctx, "uncertain", base, "KUZET_UI_READS="+string(readsJSON))

	// every act is in the audit log, by the operator
	for action, objects := range map[string][]string{
		"plate.confirm": {reads["r1"], reads["r3"]},
		"plate.correct": {reads["r6"], reads["r2"]},
	} {
		code, body := admin.get("/api/v1/audit?user=operator&action=" + action)
		var entries []struct{ Object string }
		if err := json.Unmarshal([]byte(body), &entries); code != 200 || err != nil || len(entries) != len(objects) {
			t.Errorf("audit %s: %d %s", action, code, body)
			continue
		}
		for _, o := range objects {
			if !strings.Contains(body, `"`+o+`"`) {
				t.Errorf("audit %s lacks %s: %s", action, o, body)
			}
		}
	}
	var q struct {
		Total int
		Items []struct{ ID string }
	}
	if code, body := admin.get("/api/v1/plates/uncertain"); code != 200 || json.Unmarshal([]byte(body), &q) != nil || q.Total != 1 || q.Items[0].ID != reads["r4"] {
		t.Errorf("queue at the end: %d %s", code, body)
	}
}

type apiClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func loginClient(t *testing.T, base, user string) *apiClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &apiClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	body, _ := json.Marshal(map[string]string{"user": user, "password": "kuzet-" + user})
	res, err := c.c.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d", user, res.StatusCode)
	}
	return c
}

func (c *apiClient) get(path string) (int, string) {
	c.t.Helper()
	res, err := c.c.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func writeJPEG(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
