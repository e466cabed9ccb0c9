package camevents

import (
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"testing"
	"time"
)

func TestParseGeneric(t *testing.T) {
	scene, cut := testJPEG(t, 200, 100), testJPEG(t, 60, 16)
	b64 := base64.StdEncoding.EncodeToString
	full := fmt.Sprintf(`{"plate": "123 abc 02", "country": "KAZ", "confidence": 93, "time": "2025-08-18T11:05:12.5Z",
		"direction": "exit", "box": [20, 40, 60, 16], "overview": %q, "crop": %q, "lane": 2, "camera": "Camera7"}`, b64(scene), "data:image/jpeg;base64,"+b64(cut))
	r, err := ParseGeneric("application/json", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	if r.Plate != "123ABC02" || r.Country != "KZ" || r.Confidence != 0.93 || r.Direction != "exit" ||
		!r.Time.Equal(time.Date(2025, 8, 18, 11, 5, 12, 5e8, time.UTC)) || r.Box != image.Rect(20, 40, 80, 56) ||
		string(r.Overview) != string(scene) || string(r.Crop) != string(cut) {
		t.Fatalf("read %+v", r)
	}
	checkParsed(t, r, err)

	r, err = ParseGeneric("application/json", []byte(`{"plate": "A123BC77"}`))
	if err != nil || r.Plate != "A123BC77" || r.Confidence != 0 || !r.Time.IsZero() {
		t.Fatalf("plate only: %+v %v", r, err)
	}
	if r, err = ParseGeneric("", []byte(`{"plate": "A123BC77", "confidence": 0.5}`)); err != nil || r.Confidence != 0.5 {
		t.Fatalf("fraction: %+v %v", r, err)
	}

	ct, body := buildMultipart(t,
		testPart{name: "event", ctype: "application/json", data: []byte(`{"plate": "AA1234BB", "box": [10, 10, 30, 8]}`)},
		testPart{name: "overview", filename: "scene.jpg", ctype: "image/jpeg", data: scene},
		testPart{name: "crop", filename: "plate.jpg", ctype: "image/jpeg", data: cut})
	if r, err = ParseGeneric(ct, body); err != nil || r.Plate != "AA1234BB" || string(r.Overview) != string(scene) || string(r.Crop) != string(cut) {
		t.Fatalf("multipart: %+v %v", r, err)
	}
}

func TestParseGenericRefuses(t *testing.T) {
	scene := base64.StdEncoding.EncodeToString(testJPEG(t, 100, 50))
	notJPEG := base64.StdEncoding.EncodeToString([]byte("GIF89a not a jpeg"))
	for _, c := range []struct{ body, field string }{
		{`{}`, "plate"},
		{`{"plate": null}`, "plate"},
		{`{"plate": 123}`, "plate"},
		{`{"plate": " - "}`, "plate"},
		{`{"plate": "123ABC02", "confidence": 101}`, "confidence"},
		{`{"plate": "123ABC02", "confidence": -0.1}`, "confidence"},
		{`{"plate": "123ABC02", "confidence": "high"}`, "confidence"},
		{`{"plate": "123ABC02", "time": "18.08.2025 11:05"}`, "time"},
		{`{"plate": "123ABC02", "direction": "north"}`, "direction"},
		{`{"plate": "123ABC02", "country": "Kazakhstan"}`, "country"},
		{`{"plate": "123ABC02", "box": [1, 2, 3]}`, "box"},
		{`{"plate": "123ABC02", "box": [1, 2, 3, 4]}`, "box"}, // no overview
		{fmt.Sprintf(`{"plate": "123ABC02", "box": [90, 40, 30, 20], "overview": %q}`, scene), "box"},
		{`{"plate": "123ABC02", "overview": "***"}`, "overview"},
		{fmt.Sprintf(`{"plate": "123ABC02", "crop": %q}`, notJPEG), "crop"},
		{`{"plate": "123ABC02"`, "body"},
		{`{"plate": "123ABC02"} {"plate": "X"}`, "body"},
		{`[{"plate": "123ABC02"}]`, "body"},
		{``, "body"},
	} {
		_, err := ParseGeneric("application/json", []byte(c.body))
		var e *Error
		if !errors.As(err, &e) || e.Field != c.field {
			t.Errorf("%.60s: %v, want an error about %s", c.body, err, c.field)
		}
	}
}

func FuzzParseGeneric(f *testing.F) {
	scene := base64.StdEncoding.EncodeToString(testJPEG(f, 40, 20))
	f.Add("application/json", []byte(fmt.Sprintf(`{"plate": "123ABC02", "confidence": 93, "box": [1, 2, 10, 5], "overview": %q}`, scene)))
	f.Add("application/json", []byte(`{"plate": "А123ВС77", "time": "2025-08-18T11:05:12Z", "direction": "entry"}`))
	ct, body := buildMultipart(f, testPart{name: "event", data: []byte(`{"plate": "AA1234BB"}`)})
	f.Add(ct, body)
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r, err := ParseGeneric(ct, body)
		checkParsed(t, r, err)
	})
}
