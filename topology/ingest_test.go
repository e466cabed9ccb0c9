package topology

import (
	"encoding/json"
	"strings"
	"testing"
)

// A camera's plate-event token is write-only: the put gives it, the
// change enters the log with its hash only, reads say token_set, the
// site's slice carries the hash (all the site needs), and a record read
// and put back keeps it.
func TestCameraIngestTokenWriteOnly(t *testing.T) {
	pki := newTestPKI(t)
	r := startReplica(t, pki, "centre", t.TempDir(), func(o *Options) { o.Bootstrap = true })
	waitLeader(t, r)
	api := serveAPI(t, r, HandlerOptions{}).URL + APIPath
	do := caller(t, api)
	do("POST", "/nodes", `{"id":"centre","role":"centre"}`, 200)
	do("POST", "/nodes", `{"id":"khorgos-1","role":"site","parent":"centre"}`, 200)
	const token, token2 = "gate-camera-token-0001", "gate-camera-token-0002"
	hash := IngestTokenHash(token)
	do("POST", "/cameras", `{"id":"Gate1","site":"khorgos-1","url":"rtsp://10.0.0.5:554/ch1",
		"analytics":{"anpr":{"enabled":false,"ingest":{"format":"hikvision","token":"`+token+`"}}}}`, 200)
	stored := func(id string) *Ingest {
		c, _ := r.Catalogue().Camera("khorgos-1", id)
		return c.Analytics.ANPR.Ingest
	}
	if in := stored("Gate1"); in == nil || in.TokenSHA256 != hash || in.Token != "" || in.Format != "hikvision" || in.TokenSet != nil {
		t.Fatalf("stored ingest %+v, want the token's hash only", in)
	}
	for _, p := range []string{"/cameras", "/cameras/khorgos-1/Gate1", "/catalogue", "/slices/khorgos-1", "/"} {
		if raw := do("GET", p, "", 200); strings.Contains(raw, token) || strings.Contains(raw, hash) {
			t.Errorf("GET %s shows the token or its hash: %s", p, raw)
		}
	}
	cam := camJSON(t, do("GET", "/cameras/khorgos-1/Gate1", "", 200))
	in := cam["analytics"].(map[string]any)["anpr"].(map[string]any)["ingest"].(map[string]any)
	if in["token_set"] != true || in["format"] != "hikvision" {
		t.Fatalf("ingest as read: %v", in)
	}
	if s, _ := r.SliceFor("khorgos-1"); s.Cameras[0].Analytics.ANPR.Ingest == nil || s.Cameras[0].Analytics.ANPR.Ingest.TokenSHA256 != hash {
		t.Fatalf("slice for the site: %+v", s.Cameras[0].Analytics.ANPR)
	}

	// read, edit, put back: the token stays
	in["from"] = []string{"10.0.0.0/24"}
	b, _ := json.Marshal(cam)
	do("POST", "/cameras", string(b), 200)
	if got := stored("Gate1"); got.TokenSHA256 != hash || len(got.From) != 1 || got.TokenSet != nil {
		t.Fatalf("after a put without the token: %+v", got)
	}
	// a new token replaces it
	do("POST", "/cameras", `{"id":"Gate1","site":"khorgos-1","url":"rtsp://10.0.0.5:554/ch1",
		"analytics":{"anpr":{"ingest":{"token":"`+token2+`"}}}}`, 200)
	if got := stored("Gate1"); got.TokenSHA256 != IngestTokenHash(token2) {
		t.Fatalf("after a new token: %+v", got)
	}

	for _, bad := range []struct{ body, want string }{
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://10.0.0.6/ch1","analytics":{"anpr":{"ingest":{}}}}`, "needs a token"},
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://10.0.0.6/ch1","analytics":{"anpr":{"ingest":{"token":"short"}}}}`, "16-256 characters"},
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://10.0.0.6/ch1","analytics":{"anpr":{"ingest":{"token":"` + token2 + `"}}}}`, "same ingest token as camera khorgos-1/Gate1"},
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://10.0.0.6/ch1","analytics":{"anpr":{"ingest":{"token":"` + token + `","format":"axis"}}}}`, "format must be"},
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://cam-2.local/ch1","analytics":{"anpr":{"ingest":{"token":"` + token + `"}}}}`, "list the addresses"},
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://10.0.0.6/ch1","analytics":{"anpr":{"ingest":{"token":"` + token + `","from":["10.0.0.300"]}}}}`, "ingest from"},
		{`{"id":"Gate2","site":"khorgos-1","url":"rtsp://10.0.0.6/ch1","analytics":{"anpr":{"ingest":{"token_sha256":"abc"}}}}`, "64 hex digits"},
	} {
		if raw := do("POST", "/cameras", bad.body, 400); !strings.Contains(raw, bad.want) || strings.Contains(raw, token2) {
			t.Errorf("put %s: %s, want %q", bad.body, raw, bad.want)
		}
	}
}

// The token is hashed before the change is encoded for the log, and the
// audit line says a token was set without showing it.
func TestIngestTokenNeverLogged(t *testing.T) {
	const token = "a-camera-token-in-clear"
	cmd := putCamera("khorgos-1", "Gate1", "")
	cmd.Camera.URL = "rtsp://10.0.0.5/ch1"
	cmd.Camera.Analytics.ANPR.Ingest = &Ingest{Token: token}
	b, err := EncodeCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), token) || !strings.Contains(string(b), IngestTokenHash(token)) {
		t.Fatalf("encoded command: %s", b)
	}
	c := sample(t)
	body := `{"id":"Gate9","site":"khorgos-1","url":"rtsp://10.0.0.9/ch1","analytics":{"anpr":{"ingest":{"token":"` + token + `"}}}}`
	line := DescribeChange(c, "POST", "/cameras", []byte(body))
	if strings.Contains(line, token) || strings.Contains(line, IngestTokenHash(token)) || !strings.Contains(line, "ingest token: set") {
		t.Fatalf("audit line %q", line)
	}
}
