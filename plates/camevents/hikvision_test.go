package camevents

import (
	"errors"
	"image"
	"strings"
	"testing"
	"time"
)

// isapiXML is an ANPR alert as a Hikvision ANPR camera sends it to an HTTP
// listening host (trimmed of some of its vehicle attributes).
const isapiXML = `<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>10.0.0.5</ipAddress>
<ipv6Address>::</ipv6Address>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>44:19:b6:0a:11:22</macAddress>
<channelID>1</channelID>
<dateTime>2025-08-18T16:05:12.345+05:00</dateTime>
<activePostCount>1</activePostCount>
<eventType>ANPR</eventType>
<eventState>active</eventState>
<eventDescription>ANPR</eventDescription>
<channelName>Gate 1 entry</channelName>
<ANPR>
<country>KAZ</country>
<licensePlate>123ABC02</licensePlate>
<line>1</line>
<direction>forward</direction>
<confidenceLevel>97</confidenceLevel>
<plateType>unknown</plateType>
<plateColor>white</plateColor>
<licenseBright>143</licenseBright>
<plateCharBelieve>99,98,97,99,99,96,99,98</plateCharBelieve>
<vehicleType>truck</vehicleType>
<detectDir>8</detectDir>
<vehicleInfo>
<index>1</index>
<colorDepth>2</colorDepth>
<color>white</color>
<length>0</length>
</vehicleInfo>
<pictureInfoList>
<pictureInfo>
<fileName>licensePlatePicture.jpg</fileName>
<type>licensePlatePicture</type>
<dataType>0</dataType>
</pictureInfo>
<pictureInfo>
<fileName>detectionPicture.jpg</fileName>
<type>detectionPicture</type>
<dataType>0</dataType>
<absTime>20250818160512345</absTime>
<plateRect>
<X>40</X>
<Y>30</Y>
<width>24</width>
<height>8</height>
</plateRect>
</pictureInfo>
</pictureInfoList>
<originalLicensePlate>123ABC02</originalLicensePlate>
<CRIndex>87</CRIndex>
</ANPR>
<UUID>6f1c1f0e-6c3b-4a7e-9f0e-0d0a5c4b3a21</UUID>
<picNum>2</picNum>
</EventNotificationAlert>`

// isapiHeartbeat is what a Hikvision camera sends to the same host when
// nothing happens.
const isapiHeartbeat = `<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>10.0.0.5</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>
<channelID>1</channelID><dateTime>2025-08-18T16:05:00+05:00</dateTime><activePostCount>0</activePostCount>
<eventType>videoloss</eventType><eventState>inactive</eventState><eventDescription>videoloss alarm</eventDescription>
</EventNotificationAlert>`

func TestParseISAPI(t *testing.T) {
	plateJPEG, scene := testJPEG(t, 96, 24), testJPEG(t, 160, 90)
	ct, body := buildMultipart(t,
		testPart{name: "anpr.xml", filename: "anpr.xml", ctype: "application/xml", data: []byte(isapiXML)},
		testPart{name: "licensePlatePicture.jpg", filename: "licensePlatePicture.jpg", ctype: "image/jpeg", data: plateJPEG},
		testPart{name: "detectionPicture.jpg", filename: "detectionPicture.jpg", ctype: "image/jpeg", data: scene})
	r, err := ParseISAPI(ct, body)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 8, 18, 11, 5, 12, 345e6, time.UTC)
	if r.Plate != "123ABC02" || r.Raw != "123ABC02" || r.Country != "KZ" || r.Confidence != 0.97 || r.Direction != "entry" ||
		!r.Time.Equal(want) || r.Box != image.Rect(40, 30, 64, 38) {
		t.Fatalf("read %+v", r)
	}
	if string(r.Crop) != string(plateJPEG) || string(r.Overview) != string(scene) {
		t.Fatal("pictures not sorted into crop and overview")
	}
	checkParsed(t, r, err)

	// the plain XML, without pictures
	r, err = ParseISAPI("application/xml; charset=UTF-8", []byte(isapiXML))
	if err != nil || r.Plate != "123ABC02" || r.Overview != nil || r.Crop != nil || !r.Box.Empty() {
		t.Fatalf("plain XML: %+v %v", r, err)
	}

	// a vehicle picture stands in for the detection picture; the plate's
	// rectangle is given for it, and the plate is cut from it
	vehicleXML := strings.ReplaceAll(isapiXML, "detectionPicture", "vehiclePicture")
	ct, body = buildMultipart(t,
		testPart{name: "anpr.xml", filename: "anpr.xml", data: []byte(vehicleXML)},
		testPart{name: "vehiclePicture.jpg", filename: "vehiclePicture.jpg", ctype: "image/jpeg", data: scene})
	r, err = ParseISAPI(ct, body)
	if err != nil || string(r.Overview) != string(scene) || r.Box != image.Rect(40, 30, 64, 38) {
		t.Fatalf("vehicle picture: %v %v", r.Box, err)
	}
	if w, h := jpegSize(r.Crop); w != 40 || h != 24 {
		t.Fatalf("crop cut from the overview: %dx%d", w, h)
	}
	// a rectangle given for another picture is not the scene's
	ct, body = buildMultipart(t,
		testPart{name: "anpr.xml", filename: "anpr.xml", data: []byte(isapiXML)},
		testPart{name: "vehiclePicture.jpg", filename: "vehiclePicture.jpg", ctype: "image/jpeg", data: scene})
	if r, err = ParseISAPI(ct, body); err != nil || !r.Box.Empty() || r.Crop != nil {
		t.Fatalf("rectangle of another picture: %v %d bytes %v", r.Box, len(r.Crop), err)
	}
}

func TestParseISAPIRefuses(t *testing.T) {
	notJPEG := []byte("\xff\xd8 this is not a picture")
	bigPicture := hugeJPEG(t)
	mp := func(parts ...testPart) (string, string) {
		ct, b := buildMultipart(t, parts...)
		return ct, string(b)
	}
	xmlPart := testPart{name: "anpr.xml", filename: "anpr.xml", ctype: "application/xml", data: []byte(isapiXML)}
	badCT, badBody := mp(xmlPart, testPart{name: "licensePlatePicture.jpg", filename: "licensePlatePicture.jpg", ctype: "image/jpeg", data: notJPEG})
	bigCT, bigBody := mp(xmlPart, testPart{name: "detectionPicture.jpg", filename: "detectionPicture.jpg", ctype: "image/jpeg", data: bigPicture})
	noXMLCT, noXMLBody := mp(testPart{name: "detectionPicture.jpg", filename: "detectionPicture.jpg", ctype: "image/jpeg", data: testJPEG(t, 8, 8)})
	for _, c := range []struct {
		name, ct, body string
		field          string // "" : ignored
	}{
		{"heartbeat", "application/xml", isapiHeartbeat, ""},
		{"unknown plate", "application/xml", strings.Replace(isapiXML, "<licensePlate>123ABC02", "<licensePlate>unknown", 1), ""},
		{"empty plate", "application/xml", strings.Replace(isapiXML, "<licensePlate>123ABC02", "<licensePlate>", 1), ""},
		{"no ANPR block", "application/xml", strings.Replace(isapiHeartbeat, "videoloss</eventType>", "ANPR</eventType>", 1), "ANPR"},
		{"confidence", "application/xml", strings.Replace(isapiXML, "<confidenceLevel>97", "<confidenceLevel>high", 1), "ANPR.confidenceLevel"},
		{"confidence range", "application/xml", strings.Replace(isapiXML, "<confidenceLevel>97", "<confidenceLevel>970", 1), "ANPR.confidenceLevel"},
		{"long plate", "application/xml", strings.Replace(isapiXML, "<licensePlate>123ABC02", "<licensePlate>"+strings.Repeat("AB12", 5), 1), "ANPR.licensePlate"},
		{"not XML", "application/xml", "GET / HTTP/1.1", "body"},
		{"other root", "application/xml", "<ResponseStatus><statusCode>1</statusCode></ResponseStatus>", "body"},
		{"truncated", "application/xml", isapiXML[:300], "body"},
		{"bad picture", badCT, badBody, "crop"},
		{"huge picture", bigCT, bigBody, "overview"},
		{"no XML part", noXMLCT, noXMLBody, "body"},
		{"no boundary", "multipart/form-data", isapiXML, "body"},
	} {
		_, err := ParseISAPI(c.ct, []byte(c.body))
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

// FuzzParseISAPI: whatever arrives, the parser answers a read or an error,
// never panics, and a read keeps its promises.
func FuzzParseISAPI(f *testing.F) {
	ct, body := buildMultipart(f,
		testPart{name: "anpr.xml", filename: "anpr.xml", ctype: "application/xml", data: []byte(isapiXML)},
		testPart{name: "licensePlatePicture.jpg", filename: "licensePlatePicture.jpg", ctype: "image/jpeg", data: testJPEG(f, 16, 8)},
		testPart{name: "detectionPicture.jpg", filename: "detectionPicture.jpg", ctype: "image/jpeg", data: testJPEG(f, 80, 48)})
	f.Add(ct, body)
	f.Add("application/xml", []byte(isapiXML))
	f.Add("application/xml", []byte(isapiHeartbeat))
	f.Add("", []byte(`<EventNotificationAlert><ANPR><licensePlate>А123ВС77</licensePlate><confidenceLevel>5e1</confidenceLevel></ANPR></EventNotificationAlert>`))
	f.Add("multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n<x/>\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		r, err := ParseISAPI(ct, body)
		checkParsed(t, r, err)
	})
}
