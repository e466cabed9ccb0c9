package topology

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

func FuzzDecodeCommand(f *testing.F) {
	for _, cmd := range []Command{
		putNode("khorgos-1", RoleSite, "region-a", "10.0.0.1:7443"),
		putCamera("khorgos-1", "Camera1", "lane-1"),
		{Type: PutZone, Zone: &Zone{ID: "lane-1", Site: "khorgos-1"}},
		{Type: PutUser, User: &User{Name: "a.b", Role: UserViewer, Allow: []string{"10.0.0.0/8"}}},
		{Type: PutPolicy, Policy: &Policy{Node: "khorgos-1", Mbps: 5}},
		{Type: DeleteCamera, Site: "khorgos-1", ID: "Camera1"},
	} {
		b, err := EncodeCommand(cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"v":1,"type":"put_policy","policy":{"child":"khorgos-1","fragments":"none"}}`))
	f.Add([]byte(`{"v":1,"type":"put_node","node":{"id":"a","role":"site","address":"h:1"}}`))
	base := sample(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, err := DecodeCommand(b)
		if err != nil {
			if CodeOf(err) != CodeInvalid {
				t.Fatalf("decode error without the invalid code: %v", err)
			}
			return
		}
		// what decodes re-encodes to the same command
		enc, err := EncodeCommand(cmd)
		if err != nil {
			t.Fatalf("decoded command does not encode: %v", err)
		}
		again, err := DecodeCommand(enc)
		// the same command, now in the current schema
		cmd.v, again.v = 0, 0
		if err != nil || !reflect.DeepEqual(again, cmd) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, cmd, again)
		}
		// applying never panics and never changes the catalogue it starts from
		before := base.Contents()
		if next, err := base.apply(cmd); err == nil && next == base {
			t.Fatal("apply returned the catalogue it was given")
		}
		if !reflect.DeepEqual(before, base.Contents()) {
			t.Fatal("apply changed its input")
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	b, err := EncodeSnapshot(sample(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	if v1, err := os.ReadFile("testdata/catalogue-v1.json"); err == nil {
		f.Add(v1)
	}
	f.Add([]byte(`{"schema":2,"revision":3,"nodes":[{"id":"b","role":"site","parent":"a"},{"id":"a","role":"region"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		enc, err := EncodeSnapshot(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeSnapshot(enc)
		if err != nil {
			t.Fatalf("re-encoded snapshot refused: %v", err)
		}
		if !c2.Equal(c) || c2.Revision() != c.Revision() {
			t.Fatal("snapshot round trip differs")
		}
	})
}

func FuzzParseSlice(f *testing.F) {
	s, err := sample(f).SliceFor("khorgos-1")
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(s)
	f.Add(b)
	if r, err := sample(f).SliceFor("region-a"); err == nil {
		b, _ := json.Marshal(r)
		f.Add(b) // with a subtree
	}
	f.Add([]byte(`{"schema":2,"node":"a","role":"site","cameras":[],"policy":{"node":"a","fragments":"all"},"revoked_nodes":[]}`))
	f.Add([]byte(`{"schema":2,"node":"a","role":"region","cameras":[],"policy":{"node":"a","fragments":"all"},"revoked_nodes":[],"subtree":["b","c"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSlice(b)
		if err != nil {
			return
		}
		enc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseSlice(enc)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("slice round trip: %v", err)
		}
	})
}

func FuzzForwardRequest(f *testing.F) {
	for _, req := range []fwdRequest{
		{Op: opApply, Command: json.RawMessage(`{"v":2,"type":"delete_zone","id":"z"}`)},
		{Op: opJoin, ID: "centre-2", Address: "10.0.0.2:7444"},
		{Op: opRemove, ID: "centre-2"},
		{Op: opReadIndex},
	} {
		var buf bytes.Buffer
		if err := writeFrame(&buf, req); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := parseRequest(bytes.NewReader(b))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := writeFrame(&buf, req); err != nil {
			t.Fatal(err)
		}
		again, err := parseRequest(&buf)
		if err != nil || again.Op != req.Op || again.ID != req.ID || again.Address != req.Address {
			t.Fatalf("frame round trip: %v", err)
		}
	})
}

func FuzzParseApplyFile(f *testing.F) {
	f.Add([]byte("nodes:\n  - {id: centre, role: centre}\ncameras:\n  - {id: Camera1, site: centre, url: 'rtsp://h/'}\n"))
	f.Add([]byte(`{"zones":[{"id":"z"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseApplyFile(b)
	})
}
