package config

import (
	"strings"
	"testing"
)

func TestCheckpointSection(t *testing.T) {
	const head = `
node: {id: a}
zones: [{id: gate-in, kind: entry}, {id: gate-out, kind: exit}]
`
	c, err := Parse([]byte(head+`
checkpoint:
  readers:
    - {id: r1, zone: gate-in, token: reader-one-secret-0001, from: [10.0.0.0/24], max_silence: 1m}
  barriers:
    - {id: b1, zone: gate-out, url: "http://10.0.0.9/relay/1", auth_header: "Authorization: Bearer x", timeout: 2s}
  exit_parties: {customs: [kemal, "token:customs-system"], owner: [olga]}
  attempts: 3
`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Checkpoint.ExitParties.Parties()
	if !c.Checkpoint.Enabled() || p["token:customs-system"] != "customs" || p["olga"] != "owner" || len(c.Checkpoint.Readers[0].TokenHash()) != 64 {
		t.Fatalf("%+v %v", c.Checkpoint, p)
	}
	for _, tc := range []struct{ yaml, says string }{
		{`readers: [{id: r1, zone: nowhere, token: reader-one-secret-0001}]`, "checkpoint.readers[0].zone"},
		{`readers: [{id: r1, zone: gate-in, token: short}]`, "checkpoint.readers[0].token"},
		{`readers: [{id: r1, zone: gate-in}]`, "checkpoint.readers[0].token"},
		{`readers: [{id: r1, zone: gate-in, token: reader-one-secret-0001}, {id: r2, zone: gate-in, token: reader-one-secret-0001}]`, "same token"},
		{`readers: [{id: r1, zone: gate-in, token: reader-one-secret-0001, from: [nowhere]}]`, "checkpoint.readers[0].from[0]"},
		{`readers: [{id: "r 1", zone: gate-in, token: reader-one-secret-0001}]`, "checkpoint.readers[0].id"},
		{`barriers: [{id: b1, zone: gate-out, url: "ftp://x"}]\n  exit_parties: {customs: [a], owner: [b]}`, "checkpoint.barriers[0].url"},
		{`barriers: [{id: b1, zone: gate-out, url: "http://x"}, {id: b2, zone: gate-out, url: "http://y"}]\n  exit_parties: {customs: [a], owner: [b]}`, "has barrier b1"},
		{`barriers: [{id: b1, zone: gate-out, url: "http://x"}]\n  exit_parties: {customs: [a]}`, "checkpoint.exit_parties"},
		{`exit_parties: {customs: [a], owner: [a]}`, "two parties"},
		{`attempts: 11`, "checkpoint.attempts"},
		{`bind_window: 2h`, "checkpoint.bind_window"},
	} {
		_, err := Parse([]byte(head+"checkpoint:\n  "+strings.ReplaceAll(tc.yaml, `\n`, "\n")+"\n"), Options{})
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want an error naming %q", tc.yaml, err, tc.says)
		}
	}
}

func TestLaneDividers(t *testing.T) {
	cam := func(d string) string {
		return "node: {id: a}\ncameras: [{id: C1, url: 'rtsp://10.0.0.5/x', anpr: {enabled: true, lane_dividers: " + d + "}}]\n"
	}
	c, err := Parse([]byte(cam("[[640, 0, 600, 720]]")), Options{})
	if err != nil || len(c.Cameras[0].ANPR.LaneDividers) != 1 {
		t.Fatalf("%v %+v", err, c)
	}
	for _, bad := range []string{"[[1, 2, 3]]", "[[5, 5, 5, 5]]", "[[-1, 0, 10, 10]]"} {
		if _, err := Parse([]byte(cam(bad)), Options{}); err == nil || !strings.Contains(err.Error(), "cameras[0].anpr.lane_dividers[0]") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
