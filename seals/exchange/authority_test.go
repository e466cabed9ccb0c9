package exchange

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// A partner holding a valid certificate says only what it may say of a
// seal: it cannot claim another operator's seal, end or report on a
// shipment another operator tracks, send data of a seal it neither owns
// nor tracks, or answer an ownership question nobody asked it. An
// abnormal situation anyone may report, and the first word about a seal
// nobody here knows is taken. Nothing of a refused message is kept.
func TestPartnersSpeakOnlyForTheirSeals(t *testing.T) {
	w := newWorld(t, "BY.BELTAM=national,tracking", "RU.GLONASS=national", "KZ.KTZE=national")
	by := w.start("BY.BELTAM")
	if err := by.Register("BY-0000777", true); err != nil {
		t.Fatal(err)
	}
	if err := by.Declare(Binding{Seal: "BY-0000777", Shipment: "BY/1", Plates: []string{"1234AB7"}}); err != nil {
		t.Fatal(err)
	}
	ru := w.ops["RU.GLONASS"]
	client := poster(t, filepath.Join(ru.dir, "RU.GLONASS.pem"), filepath.Join(ru.dir, "RU.GLONASS-key.pem"))
	n := 0
	post := func(kind, body string) (int, Answer) {
		t.Helper()
		n++
		msg := fmt.Sprintf(`{"version":1,"id":"ru-%08d","from":"RU.GLONASS","to":"BY.BELTAM","time":"2026-12-05T06:00:00Z","kind":%q,%q:%s}`, n, kind, kind, body)
		resp, err := client.Post(w.ops["BY.BELTAM"].url+MessagesPath, "application/json", strings.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, decodeAnswer(t, resp)
	}
	reading := `{"battery":50,"longitude":27.5,"latitude":53.9,"speed":1,"time":"2026-12-05T06:00:00Z"}`
	for _, c := range []struct {
		name, kind, body string
		code             int
		says             string
	}{
		{"another operator's seal claimed", "tracking", `{"shipment":"RU/9","code":"01","seal":{"seal":"BY-0000777","operator":"RU.GLONASS"}}`,
			409, "tracking.seal.operator: RU.GLONASS, but seal BY-0000777 is registered with BY.BELTAM (registered here)"},
		{"a shipment this operator tracks ended by a partner", "tracking", `{"shipment":"BY/1","code":"02","seal":{"seal":"BY-0000777","operator":"BY.BELTAM"}}`,
			409, "from: RU.GLONASS, but shipment BY/1 of seal BY-0000777 is tracked by BY.BELTAM"},
		{"another operator's seal's data", "tech_data", `{"seal":"BY-0000777","readings":[` + reading + `]}`,
			409, "tech_data.seal: BY-0000777 is registered with BY.BELTAM (registered here) and RU.GLONASS does not track it"},
		{"an ownership answer nobody asked for", "ownership_answer", `{"seal":"KZ-0000001","result":"00"}`,
			409, "in_reply_to"},
		{"an abnormal situation seen on the road", "tracking", `{"shipment":"BY/1","code":"04","anomaly":"01","seal":{"seal":"BY-0000777","operator":"BY.BELTAM"}}`,
			200, ""},
		{"the data of a seal nobody here knows", "tech_data", `{"seal":"RU-7700000001","readings":[` + reading + `]}`,
			200, ""},
	} {
		code, a := post(c.kind, c.body)
		if code != c.code || !strings.Contains(a.Error, c.says) {
			t.Errorf("%s: %d %q, want %d saying %q", c.name, code, a.Error, c.code, c.says)
		}
	}
	if in := inbound(t, by); len(in) != 2 {
		t.Fatalf("%d messages kept, want the 2 taken", len(in))
	}
	if !strings.Contains(w.ops["BY.BELTAM"].logs.String(), "a partner reports only what it tracks") {
		t.Error("the refusals are not logged")
	}
}
