package api

import (
	"net/http/httptest"
	"testing"
)

func TestIsCameraPlates(t *testing.T) {
	for target, want := range map[string]bool{
		"/api/v1/cameras/Gate1/plates":     true,
		"/api/v1/cameras/Gate%2F1/plates":  true, // one segment, as the ServeMux sees it
		"/api/v1/cameras//plates":          false,
		"/api/v1/cameras/../plates":        false,
		"/api/v1/cameras/Gate1/plates/":    false,
		"/api/v1/cameras/Gate1/segments":   false,
		"/api/v1/cameras/Gate1/x/plates":   false,
		"/api/v2/cameras/Gate1/plates":     false,
		"/api/v1/cameras/Gate1/plates?x=1": true,
	} {
		r := httptest.NewRequest("POST", target, nil)
		if got := isCameraPlates(r); got != want {
			t.Errorf("%s: %v, want %v", target, got, want)
		}
	}
	if isCameraPlates(httptest.NewRequest("GET", "/api/v1/cameras/Gate1/plates", nil)) {
		t.Error("GET matched")
	}
}
