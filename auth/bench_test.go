package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkVerifyPassword is the cost of one login with the production
// parameters (64 MiB, t=3, p=2).
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := VerifyPassword(h, "correct horse battery"); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkRequire is the per-request cost of the middleware for a
// session cookie and for a bearer token.
func BenchmarkRequire(b *testing.B) {
	a, err := New(Options{Users: testUsers(b), HashParams: cheap})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"user":"olga","password":"olga-password"}`))
	req.Header.Set("Content-Type", "application/json")
	a.Handler().ServeHTTP(rec, req)
	cookie := rec.Result().Cookies()[0].Value
	tok, _ := a.CreateToken("bench", RoleViewer, "bench")
	h := a.Require(RoleViewer, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	for _, tc := range []struct{ name, hdr, val string }{
		{"session", "Cookie", CookieName + "=" + cookie},
		{"token", "Authorization", "Bearer " + tok},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v1/cameras", nil)
			req.Header.Set(tc.hdr, tc.val)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 204 {
					b.Fatal(w.Code, w.Body.String())
				}
			}
		})
	}
}
