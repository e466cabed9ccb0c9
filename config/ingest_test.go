package config

import (
	"errors"
	"strings"
	"testing"
)

// hash01 is the SHA-256 of the token 0123456789abcdef01.
const hash01 = "e11e777d022958ff585e82f5edfb05960e30e49ce9c9c89651f52b0d7a4299db"

func TestIngestKeys(t *testing.T) {
	cam := func(id, url, ingest string) string {
		return "  - {id: " + id + ", url: '" + url + "', anpr: {ingest: " + ingest + "}}\n"
	}
	base := "node: {id: a}\ncameras:\n"
	c, err := Parse([]byte(base+
		cam("Gate1", "rtsp://admin:pw@10.0.0.5/ch1", "{format: hikvision, token: 0123456789abcdef01}")+
		cam("Gate2", "rtsp://cam2.lan/ch1", "{token: 0123456789abcdef02, from: [10.0.0.6, 10.0.9.0/24]}")+
		"  - {id: Gate3, url: 'rtsp://10.0.0.7/ch1'}\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in := c.Cameras[0].ANPR.Ingest; in == nil || in.Format != "hikvision" || in.Token != "0123456789abcdef01" {
		t.Fatalf("ingest %+v", in)
	}
	if in := c.Cameras[1].ANPR.Ingest; in == nil || in.Format != "" || len(in.From) != 2 || c.Cameras[2].ANPR.Ingest != nil {
		t.Fatalf("ingest %+v / %+v", in, c.Cameras[2].ANPR.Ingest)
	}
	// the file may keep the token's hash instead of the token
	c, err = Parse([]byte(base+cam("Gate4", "rtsp://10.0.0.8/ch1", "{token_sha256: "+hash01+"}")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in := c.Cameras[0].ANPR.Ingest; in.TokenHash() != hash01 || (CameraIngest{Token: "0123456789abcdef01"}).TokenHash() != hash01 {
		t.Fatalf("token hash %q, want %q", in.TokenHash(), hash01)
	}
	for _, tc := range []struct{ cams, key, says string }{
		{cam("G", "rtsp://10.0.0.5/", "{format: axis, token: 0123456789abcdef01}"), "cameras[0].anpr.ingest.format", "generic, hikvision or dahua"},
		{cam("G", "rtsp://10.0.0.5/", "{format: dahua}"), "cameras[0].anpr.ingest.token", "at least 16"},
		{cam("G", "rtsp://10.0.0.5/", "{token: short}"), "cameras[0].anpr.ingest.token", "at least 16"},
		{cam("G", "rtsp://10.0.0.5/", "{token: '0123456789 abcdef'}"), "cameras[0].anpr.ingest.token", "without spaces"},
		{cam("G", "rtsp://10.0.0.5/", "{token: 0123456789abcdef01}") + cam("H", "rtsp://10.0.0.6/", "{token: 0123456789abcdef01}"),
			"cameras[1].anpr.ingest.token", "same token as camera G"},
		{cam("G", "rtsp://10.0.0.5/", "{token: 0123456789abcdef01, from: [10.0.0.0/33]}"), "cameras[0].anpr.ingest.from[0]", "CIDR"},
		{cam("G", "rtsp://gate.lan/", "{token: 0123456789abcdef01}"), "cameras[0].anpr.ingest.from", `names the host "gate.lan"`},
		{cam("G", "rtsp://10.0.0.5/", "{token: 0123456789abcdef01, secret: x}"), "cameras[0].anpr.ingest.secret", "unknown key"},
		{cam("G", "rtsp://10.0.0.5/", "{token_sha256: abcd}"), "cameras[0].anpr.ingest.token_sha256", "64 hex digits"},
		{cam("G", "rtsp://10.0.0.5/", "{token: 0123456789abcdef01, token_sha256: "+hash01+"}"), "cameras[0].anpr.ingest.token_sha256", "not both"},
		{cam("G", "rtsp://10.0.0.5/", "{token: 0123456789abcdef01}") + cam("H", "rtsp://10.0.0.6/", "{token_sha256: "+strings.ToUpper(hash01)+"}"),
			"cameras[1].anpr.ingest.token", "same token as camera G"},
	} {
		_, err := Parse([]byte(base+tc.cams), Options{})
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tc.key || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: %v, want an error naming %s that says %q", tc.cams, err, tc.key, tc.says)
		}
	}
}
