package camevents

import (
	"errors"
	"image"
	"strings"
	"testing"
	"time"
)

// dahuaData1 is the data of a TrafficJunction event of a Dahua ITC camera
// (trimmed of many vehicle attributes). UTC is the camera's local time
// (UTC+5) counted as UTC; RealUTC is the true one.
const dahuaData1 = `{
  "Action": "Pulse", "Class": "Traffic", "Code": "TrafficJunction",
  "CommInfo": {"Country": "KZ", "ExtraPlates": null, "SnapCategory": "Motor", "StandardVehicleType": "Truck"},
  "CountInGroup": 1, "EventID": 1210, "FrameSequence": 8812211, "GroupID": 4711, "IndexInGroup": 1,
  "JunctionDirection": "Obverse", "Lane": 1, "LocaleTime": "2025-08-18 16:05:12", "Mark": 0, "Name": "ANPR0",
  "Object": {
    "Action": "Appear", "BoundingBox": [2048, 4096, 3072, 4608], "Category": "Normal", "Center": [2560, 4352],
    "Confidence": 91, "FrameSequence": 8812209, "ObjectID": 331, "ObjectType": "Plate",
    "OriginalBoundingBox": null, "RelativeID": 330, "Speed": 0, "Text": "456KTA05"
  },
  "PTS": 42994650150.0, "RealUTC": 1755515112, "Sequence": 1,
  "TrafficCar": {
    "BoundingBox": [2048, 4096, 3072, 4608], "CountInGroup": 1, "Country": null, "Direction": 0, "Event": "TrafficJunction",
    "Lane": 1, "MachineName": "ITC237-PW6M", "PlateColor": "White", "PlateNumber": "456 KTA 05", "PlateType": "Normal",
    "Speed": 12, "UTC": 1755533112, "VehicleBoundingBox": [1200, 800, 6200, 7900], "VehicleColor": "White",
    "VehicleSize": "Heavy-duty", "ViolationCode": "", "ViolationName": "ANPR"
  },
  "UTC": 1755533112, "UTCMS": 250,
  "Vehicle": {"Action": "Appear", "BoundingBox": [1200, 800, 6200, 7900], "Category": "Truck", "Confidence": 160, "ObjectType": "Vehicle", "Text": null}
}`

func TestParseDahua(t *testing.T) {
	want := time.Date(2025, 8, 18, 11, 5, 12, 250e6, time.UTC)
	event := `{"Action": "Pulse", "Code": "TrafficJunction", "Index": 0, "Data": ` + dahuaData1 + `}`
	stream := `{"id": 3143, "method": "client.notifyEventStream", "params": {"SID": 513, "eventList": [` +
		`{"Action": "Pulse", "Code": "TrafficManualSnap", "Data": {"Object": {"ObjectType": "Vehicle", "Text": null}}}, ` + event + `]}, "session": "537478f7285075076ff055201d96d1a4"}`
	text := "Code=TrafficJunction;action=Pulse;index=0;data=" + dahuaData1
	for name, body := range map[string]string{"data": dahuaData1, "event": event, "stream": stream, "text": text} {
		r, err := ParseDahua("application/json", []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Plate != "456KTA05" || r.Raw != "456 KTA 05" || r.Confidence != 0.91 || r.Country != "KZ" ||
			r.Direction != "entry" || !r.Time.Equal(want) || r.Overview != nil || !r.Box.Empty() {
			t.Fatalf("%s: read %+v", name, r)
		}
		checkParsed(t, r, err)
	}

	// multipart: the event, the scene, the plate cutout; the box is in
	// 8192ths of the scene
	scene, cut := testJPEG(t, 256, 128), testJPEG(t, 64, 16)
	ct, body := buildMultipart(t,
		testPart{name: "event", ctype: "application/json", data: []byte(event)},
		testPart{name: "image", filename: "normal.jpg", ctype: "image/jpeg", data: scene},
		testPart{name: "image", filename: "plate_cutout.jpg", ctype: "image/jpeg", data: cut})
	r, err := ParseDahua(ct, body)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Overview) != string(scene) || string(r.Crop) != string(cut) || r.Box != image.Rect(64, 64, 96, 72) {
		t.Fatalf("multipart read: box %v, %d/%d bytes", r.Box, len(r.Overview), len(r.Crop))
	}

	// the plate from the object when the car has none; no RealUTC
	only := strings.Replace(strings.Replace(dahuaData1, `"PlateNumber": "456 KTA 05"`, `"PlateNumber": ""`, 1), `"RealUTC": 1755515112, `, "", 1)
	r, err = ParseDahua("application/json", []byte(only))
	if err != nil || r.Plate != "456KTA05" || !r.Time.Equal(time.Unix(1755533112, 250e6)) {
		t.Fatalf("object plate: %+v %v", r, err)
	}
}

func TestParseDahuaRefuses(t *testing.T) {
	for _, c := range []struct {
		name, body string
		field      string // "": ignored
	}{
		{"no plate", strings.Replace(strings.Replace(dahuaData1, `"456 KTA 05"`, `""`, 1), `"456KTA05"`, `""`, 1), ""},
		{"no vehicle data", `{"Code": "VideoMotion", "Action": "Start", "Data": {"Id": [0], "RegionName": ["Region1"]}}`, ""},
		{"null data", `{"Code": "TrafficJunction", "Action": "Pulse", "Data": null}`, ""},
		{"list without plates", `{"method": "client.notifyEventStream", "params": {"eventList": [{"Code": "VideoMotion", "Data": {}}]}}`, ""},
		{"text without data", "Code=VideoMotion;action=Start;index=0", ""},
		{"no-plate text", strings.Replace(dahuaData1, `"456 KTA 05"`, `"无车牌"`, 1), ""},
		{"plate of a number", strings.Replace(dahuaData1, `"456 KTA 05"`, `456`, 1), "TrafficCar.PlateNumber"},
		{"plate too long", strings.Replace(dahuaData1, `"456 KTA 05"`, `"`+strings.Repeat("9", 40)+`"`, 1), "TrafficCar.PlateNumber"},
		{"data not an object", `{"Code": "TrafficJunction", "Data": [1, 2]}`, "Data"},
		{"event list not a list", `{"params": {"eventList": 7}}`, "params.eventList"},
		{"not JSON", `{"Object": {"Text": "123ABC02"`, "body"},
		{"trailing garbage", dahuaData1 + ` }`, "body"},
	} {
		_, err := ParseDahua("application/json", []byte(c.body))
		var e *Error
		var ig *Ignored
		switch {
		case c.field == "" && !errors.As(err, &ig):
			t.Errorf("%s: %v, want it ignored", c.name, err)
		case c.field != "" && (!errors.As(err, &e) || e.Field != c.field):
			t.Errorf("%s: %v, want an error about %s", c.name, err, c.field)
		}
	}
}

func FuzzParseDahua(f *testing.F) {
	ct, body := buildMultipart(f,
		testPart{name: "event", ctype: "application/json", data: []byte(dahuaData1)},
		testPart{name: "image", filename: "normal.jpg", ctype: "image/jpeg", data: testJPEG(f, 64, 32)})
	f.Add(ct, body)
	f.Add("application/json", []byte(dahuaData1))
	f.Add("text/plain", []byte("Code=TrafficJunction;action=Pulse;index=0;data={\"Object\":{\"Text\":\"A123BC77\",\"Confidence\":200,\"BoundingBox\":[0,0,8191,8191]}}"))
	f.Add("application/json", []byte(`{"params": {"eventList": [{"Code": "ANPR", "Data": {"TrafficCar": {"PlateNumber": "AA1234BB", "Confidence": 0.5}, "RealUTC": 1.5e9}}]}}`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r, err := ParseDahua(ct, body)
		checkParsed(t, r, err)
	})
}
