package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/internal/testkit"
)

// sealOp is one operator of the exchange as its own kuzet process.
type sealOp struct {
	id, cfg, api string
	n            *node
}

// Three operators as separate processes, each with its own CA made by
// kuzet pki: an ownership lookup broadcast while one partner is down and
// the asking node is killed and restarted, answered once the partner is
// back; a T1 query answered to the requester through kuzet seals query; a
// message to oneself refused; an anomaly derived from a seal's data
// reported once to a partner in three roles, and raised as an alarm.
func TestSealExchangeProcesses(t *testing.T) {
	testkit.Long(t)
	bin := testkit.Binary(t)
	dir := t.TempDir()
	kuzet := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	ids := []string{"KZ.KTZE", "RU.GLONASS", "BY.BELTAM"}
	roles := map[string]string{"KZ.KTZE": "[national, tracking]", "RU.GLONASS": "[national, tracking, transit]", "BY.BELTAM": "[national, transit]"}
	ops := map[string]*sealOp{}
	exch := map[string]string{}
	for _, id := range ids {
		ca := filepath.Join(dir, id)
		if out, err := kuzet("pki", "init", "--dir", ca, "--name", id+" CA"); err != nil {
			t.Fatalf("pki init: %v\n%s", err, out)
		}
		if out, err := kuzet("pki", "operator", "--dir", ca, "--id", id, "--host", "127.0.0.1"); err != nil {
			t.Fatalf("pki operator: %v\n%s", err, out)
		}
		ops[id] = &sealOp{id: id, api: testkit.Port(t)}
		exch[id] = testkit.Port(t)
	}
	for _, id := range ids {
		var partners strings.Builder
		for _, p := range ids {
			if p != id {
				fmt.Fprintf(&partners, "    - {id: %s, url: \"https://%s\", ca: %s/ca.pem, roles: %s}\n", p, exch[p], filepath.Join(dir, p), roles[p])
			}
		}
		ca := filepath.Join(dir, id)
		cfg := fmt.Sprintf(`node: {id: op-%s, data_dir: %s/data, time_zone: UTC}
http: {listen: %q}
seals:
  operator: %s
  listen: %q
  tls: {cert: %s/%s.pem, key: %s/%s-key.pem}
  retry_max: 500ms
  partners:
%s`, strings.ToLower(strings.ReplaceAll(id, ".", "-")), ca, ops[id].api, id, exch[id], ca, id, ca, id, partners.String())
		ops[id].cfg = filepath.Join(ca, "node.yaml")
		if err := os.WriteFile(ops[id].cfg, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := func(o *sealOp) {
		t.Helper()
		o.n = startNode(t, o.cfg)
		deadline := time.Now().Add(20 * time.Second)
		for {
			if resp, err := http.Get("http://" + o.api + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			select {
			case <-o.n.exited:
				t.Fatalf("%s exited:\n%s", o.id, o.n.log)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never served:\n%s", o.id, o.n.log)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	kill := func(o *sealOp) {
		_ = o.n.cmd.Process.Kill()
		<-o.n.exited
	}
	call := func(o *sealOp, method, path, body string, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+o.api+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s at %s: %d %s, want %d", method, path, o.id, resp.StatusCode, b, want)
		}
		return b
	}
	type record struct {
		Dir, Peer, Status string
		Message           struct {
			ID, From, To, InReplyTo, Kind string
			OwnershipAnswer               *struct{ Result string } `json:"ownership_answer"`
			Tracking                      *struct{ Code, Anomaly string }
		}
	}
	messages := func(o *sealOp, query string) []record {
		var got struct{ Messages []record }
		if err := json.Unmarshal(call(o, "GET", "/api/v1/seals/messages?limit=1000&"+query, "", 200), &got); err != nil {
			t.Fatal(err)
		}
		return got.Messages
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(200 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s", what)
			}
		}
	}
	kz, ru, by := ops["KZ.KTZE"], ops["RU.GLONASS"], ops["BY.BELTAM"]
	for _, o := range ops {
		start(o)
	}
	call(by, "POST", "/api/v1/seals/registry", `{"seal": "BY-0000777", "usable": true}`, 200)

	// BY goes down; KZ asks every national operator whose the seal is
	kill(by)
	out, err := kuzet("seals", "query", "--api", "http://"+kz.api, "--seal", "BY-0000777", "--type", "owner", "--wait", "3s")
	if err == nil || !strings.Contains(out, "asked RU.GLONASS") || !strings.Contains(out, "asked BY.BELTAM") ||
		!strings.Contains(out, `"result": "01"`) || !strings.Contains(out, "1 of 2 partners did not answer") {
		t.Fatalf("the lookup with BY down: %v\n%s", err, out)
	}
	// KZ is killed with the lookup for BY in its outbox, and comes back;
	// then BY comes back and answers once
	kill(kz)
	start(kz)
	start(by)
	var toBY []record
	waitFor("BY's answer at KZ", func() bool {
		toBY = nil
		for _, r := range messages(kz, "kind=ownership_query") {
			if r.Peer == "BY.BELTAM" {
				toBY = append(toBY, r)
			}
		}
		return len(toBY) == 1 && len(messages(kz, "in_reply_to="+toBY[0].Message.ID)) == 1
	})
	if ans := messages(kz, "in_reply_to="+toBY[0].Message.ID)[0]; ans.Message.From != "BY.BELTAM" || ans.Message.OwnershipAnswer.Result != "00" {
		t.Fatalf("BY's answer: %+v", ans)
	}
	if got := messages(by, "kind=ownership_query"); len(got) != 1 || got[0].Message.ID != toBY[0].Message.ID {
		t.Fatalf("BY took the lookup %d times, want once: %+v", len(got), got)
	}

	// T1 through the CLI: RU holds the seal's data, KZ asks, RU answers KZ
	now := time.Now().UTC().Truncate(time.Second)
	var readings []string
	for i := range 5 {
		readings = append(readings, fmt.Sprintf(`{"battery": %d, "longitude": 76.9, "latitude": 43.2, "speed": 55, "time": %q}`,
			90-i, now.Add(time.Duration(i-10)*time.Minute).Format(time.RFC3339)))
	}
	call(ru, "POST", "/api/v1/seals/readings", `{"seal": "RU-7700123456", "readings": [`+strings.Join(readings, ",")+`]}`, 200)
	out, err = kuzet("seals", "query", "--api", "http://"+kz.api, "--seal", "RU-7700123456", "--type", "T1", "--to", "RU.GLONASS",
		"--from", now.Add(-time.Hour).Format(time.RFC3339), "--until", now.Format(time.RFC3339))
	if err != nil || strings.Count(out, `"battery"`) != 5 || !strings.Contains(out, `"from": "RU.GLONASS"`) || !strings.Contains(out, `"to": "KZ.KTZE"`) {
		t.Fatalf("T1: %v\n%s", err, out)
	}

	// EAEU-4 through the CLI
	self := filepath.Join(dir, "self.json")
	_ = os.WriteFile(self, []byte(`{"to": "KZ.KTZE", "kind": "shipment_query", "shipment_query": {"shipment": "KZ/1"}}`), 0o644)
	if out, err := kuzet("seals", "send", "--api", "http://"+kz.api, self); err == nil || !strings.Contains(out, "to: KZ.KTZE is this operator") {
		t.Fatalf("a message to oneself: %v\n%s", err, out)
	}

	// a shipment KZ tracks, sealed with RU's seal, on a route through RU
	// and BY: 80 km off the route is abnormal (03), reported to RU once
	// though it plays three roles, and to BY; an alarm at KZ
	call(kz, "POST", "/api/v1/seals/shipments", fmt.Sprintf(`{"seal": "RU-7700123456", "shipment": "KZ/2026/000123", "operator": "RU.GLONASS",
		"plates": ["123ABC02"], "route": [[76, 43], [76, 45]], "countries": ["KZ", "RU", "BY"], "since": %q}`, now.Add(-time.Hour).Format(time.RFC3339)), 200)
	call(kz, "POST", "/api/v1/seals/readings", fmt.Sprintf(`{"seal": "RU-7700123456", "readings": [{"battery": 70, "longitude": 77, "latitude": 44, "speed": 60, "time": %q}]}`,
		now.Format(time.RFC3339)), 200)
	for _, o := range []*sealOp{ru, by} {
		waitFor(o.id+"'s report", func() bool { return len(messages(o, "kind=tracking")) >= 1 })
		time.Sleep(time.Second)
		if got := messages(o, "kind=tracking"); len(got) != 1 || got[0].Message.Tracking.Code != "04" || got[0].Message.Tracking.Anomaly != "03" {
			t.Fatalf("%s heard %+v, want one report of 03", o.id, got)
		}
	}
	var alarms []struct{ Type, Severity, Message string }
	waitFor("the alarm at KZ", func() bool {
		_ = json.Unmarshal(call(kz, "GET", "/api/v1/alarms?state=open", "", 200), &alarms)
		for _, a := range alarms {
			if a.Type == "seal_anomaly" && a.Severity == "grave" && strings.Contains(a.Message, "123ABC02") {
				return true
			}
		}
		return false
	})
	var buf bytes.Buffer
	for _, o := range ops {
		if strings.Contains(o.n.log.String(), "panic") {
			fmt.Fprintf(&buf, "%s panicked:\n%s", o.id, o.n.log)
		}
	}
	if buf.Len() > 0 {
		t.Fatal(buf.String())
	}
}
