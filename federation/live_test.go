package federation

import (
	"bytes"
	"testing"
	"time"

	"github.com/kuzet/kuzet/media"
)

func TestLiveUnitRoundTrip(t *testing.T) {
	u := &media.Unit{NALUs: [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x65, 4, 5, 6, 7}}, PTS: 123456, Time: time.Unix(5, 6)}
	var buf bytes.Buffer
	if err := writeUnitFrame(&buf, u); err != nil {
		t.Fatal(err)
	}
	typ, payload, err := ReadFrame(&buf, maxLiveUnit)
	if err != nil || typ != MsgLiveUnit {
		t.Fatalf("%v %v", typ, err)
	}
	got, err := decodeUnit(payload)
	if err != nil || got.PTS != u.PTS || !got.Time.Equal(u.Time) || len(got.NALUs) != 3 || !bytes.Equal(got.NALUs[2], u.NALUs[2]) || got.Size != 10 {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range [][]byte{payload[:10], payload[:len(payload)-1], append(append([]byte{}, payload...), 0)} {
		if _, err := decodeUnit(bad); err == nil {
			t.Errorf("%d-byte unit accepted", len(bad))
		}
	}
}

// FuzzDecodeUnit: a relayed unit never crashes the receiver, and one that
// decodes re-encodes to the same bytes.
func FuzzDecodeUnit(f *testing.F) {
	f.Add(appendUnit(nil, &media.Unit{NALUs: [][]byte{{0x65, 1}}, PTS: 9, Time: time.Unix(1, 0)}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		u, err := decodeUnit(p)
		if err != nil {
			return
		}
		if !bytes.Equal(appendUnit(nil, u), p) {
			t.Fatalf("re-encoding differs")
		}
	})
}
