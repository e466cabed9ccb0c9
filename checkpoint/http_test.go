package checkpoint

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Bad filters get a 400 naming what was wrong; a range given only by its
// end is the day before it.
func TestVisitsHTTP(t *testing.T) {
	x := openIdx(t, t.TempDir())
	defer x.Close()
	get := func(h http.HandlerFunc, query string) (int, string) {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest("GET", "/x?"+query, nil))
		return rec.Code, rec.Body.String()
	}
	for _, tc := range []struct {
		h     http.HandlerFunc
		query string
		says  string
	}{
		{x.Visits, "state=gone", "state"},
		{x.Visits, "limit=0", "limit"},
		{x.Visits, "from=yesterday", "from"},
		{x.DwellStats, "from=2026-12-02T10:00:00Z&to=2026-12-01T10:00:00Z", "to must be after from"},
		{x.DwellStats, "from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", "31 days"},
	} {
		if code, body := get(tc.h, tc.query); code != 400 || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s, want 400 naming %q", tc.query, code, body, tc.says)
		}
	}
	code, body := get(x.DwellStats, "to=2026-12-01T10:00:00Z")
	var st struct{ From, To time.Time }
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil || st.To.Sub(st.From) != 24*time.Hour {
		t.Fatalf("a range by its end: %d %s", code, body)
	}
	if code, body := get(x.Visits, ""); code != 200 || !strings.Contains(body, `"visits": []`) {
		t.Fatalf("no visits: %d %s", code, body)
	}
}
