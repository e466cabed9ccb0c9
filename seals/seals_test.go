package seals

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compileSchema compiles Schema() with formats asserted (date-time).
func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func schemaValid(t testing.TB, sch *jsonschema.Schema, msg string) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(msg))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// TestExamplesParse: a message of every kind parses, the schema accepts
// it, and what is stored encodes back to a message that parses alike.
func TestExamplesParse(t *testing.T) {
	sch := compileSchema(t)
	seen := map[Kind]bool{}
	for name, msg := range examples {
		m, err := Parse([]byte(msg))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		seen[m.Kind] = true
		if err := schemaValid(t, sch, msg); err != nil {
			t.Errorf("%s: the schema refuses a message the node takes: %v", name, err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Errorf("%s: encoded again, refused: %v\n%s", name, err, b)
			continue
		}
		if b2, _ := json.Marshal(again); !bytes.Equal(b, b2) {
			t.Errorf("%s: not stable through encoding:\n%s\n%s", name, b, b2)
		}
	}
	for _, k := range Kinds {
		if !seen[k] {
			t.Errorf("no example of %s", k)
		}
	}
}

// TestRefusalsNameTheField: each bad message is refused by the node with
// the field at fault named, and by the schema too.
func TestRefusalsNameTheField(t *testing.T) {
	sch := compileSchema(t)
	cases := []struct {
		name, base, from, to, field string
		schemaToo                   bool
	}{
		{"unknown kind", "ownership_query", `"kind":"ownership_query"`, `"kind":"whose_seal"`, "kind", true},
		{"body of another kind", "ownership_query", `"kind":"ownership_query"`, `"kind":"seal_query"`, "ownership_query", true},
		{"version", "ownership_query", `"version":1`, `"version":2`, "version", true},
		{"short id", "ownership_query", `"id":"KZ.KTZE:0001"`, `"id":"x1"`, "id", true},
		{"sender not a member", "ownership_query", `"from":"KZ.KTZE"`, `"from":"DE.TOLL"`, "from", true},
		{"recipient not an operator ID", "ownership_query", `"to":"RU.GLONASS-TM"`, `"to":"glonass"`, "to", true},
		{"to itself", "ownership_query", `"to":"RU.GLONASS-TM"`, `"to":"KZ.KTZE"`, "to", false},
		{"seal ID format", "ownership_query", `"seal":"RU-7700123456"`, `"seal":"ru 77"`, "ownership_query.seal", true},
		{"ownership result", "ownership_answer", `"result":"00"`, `"result":"03"`, "ownership_answer.result", true},
		{"unknown event", "action_request", `"event":"A03"`, `"event":"A09"`, "action_request.event", true},
		{"A03 without shipment", "action_request", `"shipment":"KZ/2026/000123",`, ``, "action_request.shipment", true},
		{"period 0", "action_request A07", `"period_minutes":15`, `"period_minutes":0`, "action_request.period_minutes", true},
		{"period 121", "action_request A07", `"period_minutes":15`, `"period_minutes":121`, "action_request.period_minutes", true},
		{"period with another event", "action_request", `"authority"`, `"period_minutes":10,"authority"`, "action_request.period_minutes", true},
		{"A05 without remote code", "action A05", `"remote":"D1",`, ``, "action.remote", true},
		{"remote code", "action A05", `"remote":"D1"`, `"remote":"D2"`, "action.remote", true},
		{"latitude", "action A05", `"latitude":44.21`, `"latitude":91.5`, "action.reading.latitude", true},
		{"longitude", "action A05", `"longitude":80.27`, `"longitude":-180.5`, "action.reading.longitude", true},
		{"battery", "action B01", `"battery":64`, `"battery":101`, "action.reading.battery", true},
		{"speed", "action B01", `"speed":54.5`, `"speed":-3`, "action.reading.speed", true},
		{"anomaly code", "action B01", `"anomaly":"01"`, `"anomaly":"08"`, "action.anomaly", true},
		{"B01 without reading", "action B01", `"reading":{"battery":64,"longitude":76.95,"latitude":43.25,"speed":54.5,"time":"2026-12-01T10:59:00Z"}`, `"authority":"x"`, "action.reading", true},
		{"A08 without persons", "action A08", `"persons":["A. Nurlanov"]`, `"persons":[]`, "action.replacement.persons", true},
		{"tracking 04 without anomaly", "tracking 04", `"anomaly":"03",`, ``, "tracking.anomaly", true},
		{"tracking code", "tracking 04", `"code":"04"`, `"code":"08"`, "tracking.code", true},
		{"tracking 06 without new seal", "tracking 06", `"new_seal":"RU-7700123999",`, ``, "tracking.new_seal", true},
		{"no readings", "tech_data", `"readings":[`, `"readings":[],"x":[`, "", true},
		{"a reading's time", "tech_data", `"time":"2026-12-01T11:45:00Z"`, `"time":"yesterday"`, "tech_data.readings.time", true},
		{"a time that is a number", "seal_query", `"from":"2026-12-01T00:00:00Z"`, `"from":1764547200`, "seal_query.from", true},
		{"query type", "seal_query", `"type":"T1"`, `"type":"T2"`, "seal_query.type", true},
		{"window backwards", "seal_query", `"to":"2026-12-01T13:00:00Z"`, `"to":"2026-11-30T13:00:00Z"`, "seal_query.to", false},
		{"found without shipments", "seal_shipments", `,"shipments":["KZ/2026/000123","RU/2026/77-0042"]`, ``, "seal_shipments.shipments", true},
		{"shipment number", "shipment_query", `"shipment":"KZ/2026/000123"`, `"shipment":"kz 2026"`, "shipment_query.shipment", true},
		{"record code 07", "shipment_report", `{"code":"01",`, `{"code":"07",`, "shipment_report.records[0].code", true},
		{"record 04 without anomaly", "shipment_report", `"anomaly":"05",`, ``, "shipment_report.records[1].anomaly", true},
		{"record 01 with a new seal", "shipment_report", `{"code":"01",`, `{"code":"01","new_seal":"RU-7700123999",`, "shipment_report.records[0].new_seal", true},
		{"too many shipments", "seal_shipments", `"shipments":["KZ/2026/000123",`, `"shipments":["KZ/2026/000123",` + strings.Repeat(`"A1",`, MaxShipments), "seal_shipments.shipments", true},
		{"unknown field", "ownership_query", `"kind":"ownership_query"`, `"kind":"ownership_query","priority":1`, "", true},
		{"wrong type", "tech_data", `"battery":60`, `"battery":"60"`, "tech_data.readings.battery", true},
	}
	for _, c := range cases {
		base, ok := examples[c.base]
		if !ok || !strings.Contains(base, c.from) {
			t.Fatalf("%s: %q not in example %s", c.name, c.from, c.base)
		}
		msg := strings.Replace(base, c.from, c.to, 1)
		_, err := Parse([]byte(msg))
		if err == nil {
			t.Errorf("%s: taken", c.name)
			continue
		}
		var fe *FieldError
		if c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field) {
			t.Errorf("%s: %v; want the field %s named", c.name, err, c.field)
		}
		if c.schemaToo && schemaValid(t, sch, msg) == nil {
			t.Errorf("%s: the node refuses it (%v), the schema takes it", c.name, err)
		}
	}
}

// TestParseLimits: oversized input, trailing data and what is not JSON are
// refused in words.
func TestParseLimits(t *testing.T) {
	big := strings.Replace(examples["write_request"], `"data":"route Khorgos - Moscow"`, `"data":"`+strings.Repeat("x", MaxMessageBytes)+`"`, 1)
	for name, c := range map[string]struct{ in, want string }{
		"oversized":     {big, "at most 1048576"},
		"trailing data": {examples["ownership_query"] + "{}", "data after"},
		"not JSON":      {"<xml/>", "not JSON"},
		"empty":         {"", "message"},
		"array":         {"[]", "message"},
	} {
		if _, err := Parse([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	readings := make([]Reading, MaxReadings+1)
	m, _ := Parse([]byte(examples["tech_data"]))
	for i := range readings {
		readings[i] = m.TechData.Readings[0]
	}
	m.TechData.Readings = readings
	var fe *FieldError
	if err := m.Validate(); !errors.As(err, &fe) || fe.Field != "tech_data.readings" {
		t.Errorf("%d readings: %v", len(readings), err)
	}
}

// FuzzParse: whatever comes in, Parse returns a valid message or an error,
// and a message it takes encodes to one it takes again.
func FuzzParse(f *testing.F) {
	for _, msg := range examples {
		f.Add([]byte(msg))
	}
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("taken, then invalid: %v", err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("taken, encoded, refused: %v\n%s", err, out)
		}
	})
}
