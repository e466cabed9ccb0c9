package checkpoint

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/plates/camevents"
)

func readerHandlers(t testing.TB, d *Desk) DeskHandlers {
	g, err := camevents.NewGate("entry-reader", "", "entry-reader-secret-01", []string{"192.0.2.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	r := d.readers["entry-reader"]
	r.Gate = g
	d.readers["entry-reader"] = r
	d.mu.Unlock()
	return DeskHandlers{Desk: d, Index: d.idx}
}

func presentReq(h DeskHandlers, from, token, body string) (int, string) {
	req := httptest.NewRequest("POST", "/api/v1/readers/entry-reader/presentations", strings.NewReader(body))
	req.SetPathValue("reader", "entry-reader")
	req.RemoteAddr = from + ":5555"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.Present(rec, req)
	return rec.Code, rec.Body.String()
}

// A reader speaks for itself only, from its addresses; its messages are
// checked field by field.
func TestReaderMessages(t *testing.T) {
	c := newCrossing(t)
	h := readerHandlers(t, c.desk)
	for _, tc := range []struct {
		from, token, body string
		code              int
		says              string
	}{
		{"192.0.2.7", "", `{"token": "C1"}`, 401, "no token"},
		{"192.0.2.7", "customs-reader-secret", `{"token": "C1"}`, 401, "wrong token"},
		{"198.51.100.1", "entry-reader-secret-01", `{"token": "C1"}`, 403, "does not post from"},
		{"192.0.2.7", "entry-reader-secret-01", ``, 400, "body: empty"},
		{"192.0.2.7", "entry-reader-secret-01", `{"token": 7}`, 400, "token: must be a string"},
		{"192.0.2.7", "entry-reader-secret-01", `{"card": "C1"}`, 400, "unknown field"},
		{"192.0.2.7", "entry-reader-secret-01", `{"token": "C1"`, 400, "body"},
		{"192.0.2.7", "entry-reader-secret-01", `{"token": "` + strings.Repeat("A", 65) + `"}`, 400, "token: longer"},
		{"192.0.2.7", "entry-reader-secret-01", `{"token": "C1"}`, 202, `"pending"`},
	} {
		if code, body := presentReq(h, tc.from, tc.token, tc.body); code != tc.code || !strings.Contains(body, tc.says) {
			t.Errorf("%s %q: %d %s, want %d naming %q", tc.from, tc.body, code, body, tc.code, tc.says)
		}
	}
	if n := countKinds(t, c.log); n[KindTokenPresented] != 1 {
		t.Fatalf("events: %v", n)
	}
}

// No reader message makes the handler fail other than with a 4xx, or
// store anything but a presentation.
func FuzzReaderMessage(f *testing.F) {
	for _, s := range []string{`{"token": "C1"}`, `{"token": ""}`, `{}`, `[]`, `null`, `{"token": "\u0000"}`, `{"token": "A:B.C-D_E"}`} {
		f.Add(s)
	}
	c := newCrossing(&testing.T{})
	h := readerHandlers(f, c.desk)
	f.Fuzz(func(t *testing.T, body string) {
		code, msg := presentReq(h, "192.0.2.7", "entry-reader-secret-01", body)
		if code != http.StatusAccepted && (code < 400 || code >= 500) {
			t.Fatalf("%q: %d %s", body, code, msg)
		}
	})
}
