package federation

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/kuzet/kuzet/event"
)

func TestFrameRoundTripAndRefusals(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, MsgEvents, Events{Events: []event.Event{{Origin: "a", Seq: 1, Kind: "k"}}}); err != nil {
		t.Fatal(err)
	}
	var got Events
	if err := Expect(bytes.NewReader(buf.Bytes()), MsgEvents, &got); err != nil || got.Events[0].ID() != "a/1" {
		t.Fatalf("%+v %v", got, err)
	}
	bad := []struct {
		name  string
		frame []byte
	}{
		{"version", []byte{2, byte(MsgPing), 0, 0, 0, 2, '{', '}'}},
		{"type", []byte{1, 0x55, 0, 0, 0, 2, '{', '}'}},
		{"too long", []byte{1, byte(MsgPing), 0xff, 0xff, 0xff, 0xff}},
		{"truncated", []byte{1, byte(MsgPing), 0, 0, 0, 9, '{'}},
		{"not json", []byte{1, byte(MsgPing), 0, 0, 0, 3, 'a', 'b', 'c'}},
		{"wrong type", []byte{1, byte(MsgPong), 0, 0, 0, 2, '{', '}'}},
	}
	for _, b := range bad {
		var p Ping
		err := Expect(bytes.NewReader(b.frame), MsgPing, &p)
		if err == nil {
			t.Errorf("%s: accepted", b.name)
		}
		var fe *FrameError
		if b.name != "truncated" && !errors.As(err, &fe) {
			t.Errorf("%s: %v is not a FrameError", b.name, err)
		}
	}
	// an error frame carries the peer's reason
	buf.Reset()
	_ = WriteFrame(&buf, MsgError, ErrorMsg{Message: "node ID mismatch"})
	var w Welcome
	if err := Expect(&buf, MsgWelcome, &w); err == nil || err.Error() != "peer refused: node ID mismatch" {
		t.Fatalf("error frame: %v", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteFrame(&buf, MsgHello, Hello{NodeID: "site-1"})
	f.Add(buf.Bytes())
	f.Add([]byte{1, 0x10, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, payload, err := ReadFrame(bytes.NewReader(b), 1<<16)
		if err == nil && (len(payload) > 1<<16 || typ.String() == "") {
			t.Fatal("accepted an oversized or unnamed frame")
		}
		var ev Events
		_ = Expect(bytes.NewReader(b), MsgEvents, &ev)
	})
}

// An act names what it is; a raise names the alarm's type and a severity.
func TestAlarmActValidate(t *testing.T) {
	base := AlarmAct{ID: "centre/1", Origin: "site", AlarmID: "k", User: "u@centre", Role: "operator"}
	for _, c := range []struct {
		edit func(*AlarmAct)
		ok   bool
	}{
		{func(a *AlarmAct) { a.Act = ActAck }, true},
		{func(a *AlarmAct) { a.Act = "delete" }, false},
		{func(a *AlarmAct) { a.Act, a.Type, a.Severity = ActRaise, "sealed_vehicle_abnormal", "grave" }, true},
		{func(a *AlarmAct) { a.Act, a.Severity = ActRaise, "grave" }, false},
		{func(a *AlarmAct) { a.Act, a.Type, a.Severity = ActRaise, "x", "urgent" }, false},
		{func(a *AlarmAct) {
			a.Act, a.Type, a.Severity, a.Snapshot = ActRaise, "x", "minor", strings.Repeat("s", 600)
		}, false},
	} {
		a := base
		c.edit(&a)
		if err := a.Validate(); (err == nil) != c.ok || err != nil && !errors.Is(err, ErrActRefused) {
			t.Errorf("%+v: %v, want ok %v", a, err, c.ok)
		}
	}
}
