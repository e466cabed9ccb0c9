package exchange

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kuzet/kuzet/pki"
)

// poster delivers raw bodies to an operator with a client certificate.
func poster(t *testing.T, certFile, keyFile string) *http.Client {
	t.Helper()
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{c}, InsecureSkipVerify: true}}}
}

const goodQuery = `{"version":1,"id":"q-00000001","from":"RU.GLONASS","to":"BY.BELTAM","time":"2026-12-05T06:00:00Z",
 "kind":"shipment_query","shipment_query":{"shipment":"RU/1"}}`

// Whoever holds a certificate may speak only for the partner it names,
// and only with the CA configured for that partner; a message that is
// malformed, from someone else or for someone else is refused naming
// the field, and nothing of it is kept.
func TestRefusals(t *testing.T) {
	w := newWorld(t, "BY.BELTAM=national", "RU.GLONASS=national", "KZ.KTZE=tracking")
	by := w.start("BY.BELTAM")
	url := w.ops["BY.BELTAM"].url + MessagesPath
	ru := w.ops["RU.GLONASS"]
	issue := func(caDir, id string) (string, string) {
		out := t.TempDir()
		iss, err := pki.IssueOperator(caDir, id, nil, out, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return iss.CertPath, iss.KeyPath
	}
	rogue := t.TempDir()
	if err := pki.InitCA(rogue, "rogue", time.Hour); err != nil {
		t.Fatal(err)
	}
	ruCert, ruKey := filepath.Join(ru.dir, "RU.GLONASS.pem"), filepath.Join(ru.dir, "RU.GLONASS-key.pem")
	cases := []struct {
		name      string
		cert, key string
		body      string
		code      int
		wantErr   string // in the answer; "" : the handshake fails
	}{
		{"a certificate of another CA in a partner's name", "", "", goodQuery, 0, ""},
		{"a partner's CA certifying another partner", "", "", strings.ReplaceAll(goodQuery, "RU.GLONASS", "KZ.KTZE"), 0, ""},
		{"a CA no partner has", "", "", goodQuery, 0, ""},
		{"from another operator", ruCert, ruKey, strings.ReplaceAll(goodQuery, `"from":"RU.GLONASS"`, `"from":"KZ.KTZE"`), 403,
			"from: KZ.KTZE, but the certificate is RU.GLONASS's"},
		{"to another operator", ruCert, ruKey, strings.ReplaceAll(goodQuery, `"to":"BY.BELTAM"`, `"to":"KZ.KTZE"`), 400,
			"to: KZ.KTZE, but this operator is BY.BELTAM"},
		{"malformed", ruCert, ruKey, goodQuery[:40], 400, "message:"},
		{"an unknown code", ruCert, ruKey, strings.ReplaceAll(goodQuery, `"kind":"shipment_query","shipment_query":{"shipment":"RU/1"}`,
			`"kind":"tracking","tracking":{"shipment":"RU/1","code":"09","seal":{"seal":"RU-7700123456","operator":"RU.GLONASS"}}`), 400, "tracking.code"},
		{"a seal ID in the wrong format", ruCert, ruKey, strings.ReplaceAll(goodQuery, `"kind":"shipment_query","shipment_query":{"shipment":"RU/1"}`,
			`"kind":"ownership_query","ownership_query":{"seal":"ru 77"}`), 400, "ownership_query.seal"},
		{"coordinates out of range", ruCert, ruKey, strings.ReplaceAll(goodQuery, `"kind":"shipment_query","shipment_query":{"shipment":"RU/1"}`,
			`"kind":"tech_data","tech_data":{"seal":"RU-7700123456","readings":[{"battery":50,"longitude":76,"latitude":93,"speed":1,"time":"2026-12-05T06:00:00Z"}]}`), 400,
			"tech_data.readings[0].latitude: 93 is out of range"},
		{"a period outside 1-120", ruCert, ruKey, strings.ReplaceAll(goodQuery, `"kind":"shipment_query","shipment_query":{"shipment":"RU/1"}`,
			`"kind":"action_request","action_request":{"seal":"RU-7700123456","operator":"RU.GLONASS","event":"A07","period_minutes":121}`), 400,
			"action_request.period_minutes"},
		{"oversized", ruCert, ruKey, goodQuery + strings.Repeat(" ", 1<<20), 413, "over"},
	}
	cases[0].cert, cases[0].key = issue(rogue, "RU.GLONASS")
	cases[1].cert, cases[1].key = issue(ru.dir, "KZ.KTZE")
	cases[2].cert, cases[2].key = issue(rogue, "KG.TRANS")
	for _, c := range cases {
		resp, err := poster(t, c.cert, c.key).Post(url, "application/json", bytes.NewReader([]byte(c.body)))
		if c.code == 0 {
			if err == nil {
				resp.Body.Close()
				t.Errorf("%s: taken with %s, want the handshake refused", c.name, resp.Status)
			}
			if !strings.Contains(w.ops["BY.BELTAM"].logs.String(), strings.ReplaceAll(c.wantErr, `"`, `\"`)) {
				t.Errorf("%s: the log does not say %q", c.name, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		a := decodeAnswer(t, resp)
		if resp.StatusCode != c.code || !strings.Contains(a.Error, c.wantErr) {
			t.Errorf("%s: %d %q, want %d naming %q", c.name, resp.StatusCode, a.Error, c.code, c.wantErr)
		}
	}
	if n := len(msgs(t, by, Filter{})); n != 0 {
		t.Fatalf("%d messages kept after refusals", n)
	}
	if by.refusals.Load() < int64(len(cases)) {
		t.Fatalf("%d refusals counted, want %d", by.refusals.Load(), len(cases))
	}

	// the same ID again is a duplicate, taken once; with other content, a conflict
	post := func(body string) (int, Answer) {
		resp, err := poster(t, ruCert, ruKey).Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, decodeAnswer(t, resp)
	}
	for i, want := range []string{StatusAccepted, "duplicate"} {
		if code, a := post(goodQuery); code != 200 || a.Status != want {
			t.Fatalf("delivery %d: %d %+v, want %s", i+1, code, a, want)
		}
	}
	if code, a := post(strings.ReplaceAll(goodQuery, "RU/1", "RU/2")); code != 409 || !strings.Contains(a.Error, "id: q-00000001 was taken before with other content") {
		t.Fatalf("the ID reused with other content: %d %+v", code, a)
	}
	if n := len(inbound(t, by)); n != 1 {
		t.Fatalf("%d messages kept, want 1", n)
	}
}
