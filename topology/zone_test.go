package topology

import (
	"strings"
	"testing"
)

// A zone's kind is stored and goes down to the site with the slice.
func TestZoneKindReachesSlice(t *testing.T) {
	c := mustApply(t, sample(t),
		Command{Type: PutZone, Zone: &Zone{ID: "gate-in", Site: "khorgos-1", Kind: "entry", DwellLimitMinutes: 30}},
		putCamera("khorgos-1", "Entry1", "gate-in"))
	s, err := c.SliceFor("khorgos-1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, z := range s.Zones {
		found = found || (z.ID == "gate-in" && z.Kind == "entry" && z.DwellLimitMinutes == 30)
	}
	if !found {
		t.Fatalf("slice zones %+v", s.Zones)
	}
	if _, err := c.apply(Command{Type: PutZone, Zone: &Zone{ID: "x", Kind: "Customs Hall"}}); err == nil || !strings.Contains(err.Error(), "lower-case word") {
		t.Fatalf("a bad kind: %v", err)
	}
	if _, err := c.apply(Command{Type: PutZone, Zone: &Zone{ID: "x", DwellLimitMinutes: -1}}); err == nil || !strings.Contains(err.Error(), "dwell_limit_minutes") {
		t.Fatalf("a bad limit: %v", err)
	}
	if _, err := c.apply(Command{Type: PutZone, Zone: &Zone{ID: "x", Forbidden: true, ReachWithinMinutes: 5}}); err == nil || !strings.Contains(err.Error(), "forbidden zone") {
		t.Fatalf("a forbidden zone to reach: %v", err)
	}
	bad := putCamera("khorgos-1", "Lane9", "")
	bad.Camera.AllowedDirection = "sideways"
	if _, err := c.apply(bad); err == nil || !strings.Contains(err.Error(), "allowed_direction") {
		t.Fatalf("a bad allowed_direction: %v", err)
	}
	bad.Camera.AllowedDirection, bad.Camera.Direction = "exit", "entry"
	if _, err := c.apply(bad); err == nil || !strings.Contains(err.Error(), "use direction auto") {
		t.Fatalf("a fixed direction against the lane: %v", err)
	}
}

// A zone's readers and barrier: a reader's token is write-only (the
// catalogue keeps its hash, reads say token_set, a put without it keeps
// it, the audit line says it was set), the site's slice carries the zone
// with the hash even when no camera names it, and bad devices are refused
// naming the field.
func TestZoneReadersAndBarrier(t *testing.T) {
	pki := newTestPKI(t)
	r := startReplica(t, pki, "centre", t.TempDir(), func(o *Options) { o.Bootstrap = true })
	waitLeader(t, r)
	api := serveAPI(t, r, HandlerOptions{}).URL + APIPath
	do := caller(t, api)
	do("POST", "/nodes", `{"id":"centre","role":"centre"}`, 200)
	do("POST", "/nodes", `{"id":"khorgos-1","role":"site","parent":"centre"}`, 200)
	const token = "customs-reader-token-01"
	hash := IngestTokenHash(token)
	zone := `{"id":"customs","site":"khorgos-1","kind":"customs","readers":[{"id":"customs-reader","token":"` + token + `","from":["10.0.0.0/24"],"max_silence_seconds":60}]}`
	if line := DescribeChange(r.Catalogue(), "POST", "/zones", []byte(zone)); strings.Contains(line, token) || strings.Contains(line, hash) || !strings.Contains(line, "reader customs-reader token: set") {
		t.Fatalf("audit line %q", line)
	}
	do("POST", "/zones", zone, 200)
	do("POST", "/zones", `{"id":"gate-out","site":"khorgos-1","kind":"exit","barrier":{"id":"exit-barrier","url":"http://10.0.0.9/relay","customs":["kemal"],"owner":["token:owner-erp"]}}`, 200)
	z, _ := r.Catalogue().Zone("customs")
	if len(z.Readers) != 1 || z.Readers[0].TokenSHA256 != hash || z.Readers[0].Token != "" {
		t.Fatalf("stored %+v", z.Readers)
	}
	for _, p := range []string{"/zones", "/zones/customs", "/catalogue", "/slices/khorgos-1"} {
		if raw := do("GET", p, "", 200); strings.Contains(raw, token) || strings.Contains(raw, hash) || !strings.Contains(raw, `"token_set": true`) {
			t.Errorf("GET %s: %s", p, raw)
		}
	}
	s, err := r.SliceFor("khorgos-1")
	if err != nil || len(s.Zones) != 2 || s.Zones[0].Readers[0].TokenSHA256 != hash || s.Zones[1].Barrier == nil {
		t.Fatalf("the site's slice: %v %+v", err, s)
	}
	// read, edit, put back: the token stays
	do("POST", "/zones", `{"id":"customs","site":"khorgos-1","kind":"customs","readers":[{"id":"customs-reader","token_set":true}]}`, 200)
	if z, _ := r.Catalogue().Zone("customs"); z.Readers[0].TokenSHA256 != hash {
		t.Fatalf("after a put back: %+v", z.Readers)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"id":"yard","kind":"waiting","readers":[{"id":"r1","token":"yard-reader-token-001"}]}`, "give the zone's site"},
		{`{"id":"yard","site":"khorgos-1","readers":[{"id":"r1"}]}`, "needs a token"},
		{`{"id":"yard","site":"khorgos-1","readers":[{"id":"r1","token":"short"}]}`, "16-256 characters"},
		{`{"id":"yard","site":"khorgos-1","readers":[{"id":"r1","token":"` + token + `"}]}`, "same token"},
		{`{"id":"yard","site":"khorgos-1","readers":[{"id":"customs-reader","token":"yard-reader-token-001"}]}`, "zone customs's already"},
		{`{"id":"yard","site":"khorgos-1","readers":[{"id":"r1","token":"yard-reader-token-001","from":["nowhere"]}]}`, "from"},
		{`{"id":"yard","site":"khorgos-1","barrier":{"id":"b2","url":"ftp://x","customs":["a"],"owner":["b"]}}`, "url must be"},
		{`{"id":"yard","site":"khorgos-1","barrier":{"id":"b2","url":"http://u:p@10.0.0.8/","customs":["a"],"owner":["b"]}}`, "no credentials"},
		{`{"id":"yard","site":"khorgos-1","barrier":{"id":"b2","url":"http://10.0.0.8/","customs":["a"]}}`, "name who grants"},
		{`{"id":"yard","site":"khorgos-1","barrier":{"id":"b2","url":"http://10.0.0.8/","customs":["a"],"owner":["a"]}}`, "two parties"},
		{`{"id":"yard","site":"khorgos-1","barrier":{"id":"exit-barrier","url":"http://10.0.0.8/","customs":["a"],"owner":["b"]}}`, "zone gate-out's already"},
	} {
		if raw := do("POST", "/zones", bad.body, 400); !strings.Contains(raw, bad.want) {
			t.Errorf("put %s: %s, want %q", bad.body, raw, bad.want)
		}
	}
}
