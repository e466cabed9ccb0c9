package federation

import "testing"

// What a child says of an open file is checked: it must be the camera's
// own file in its origin's layout, of a sane size, with bytes that start
// where the parent's copy ends (or at 0).
func TestOpenHeadIsChecked(t *testing.T) {
	const rel = "Camera1/2025/08/18/14/Camera1_2025_08_18_14_05.mp4"
	for _, c := range []struct {
		name   string
		h      FetchHead
		have   string
		offset int64
		ok     bool
	}{
		{"whole", FetchHead{Size: 100, Path: rel}, "", 0, true},
		{"resumed", FetchHead{Size: 100, Path: rel, From: 40}, rel, 40, true},
		{"a new file from 0", FetchHead{Size: 100, Path: "Camera1/2025/08/18/14/Camera1_2025_08_18_14_10.mp4"}, rel, 40, true},
		{"another camera's", FetchHead{Size: 100, Path: "Camera2/2025/08/18/14/Camera2_2025_08_18_14_05.mp4"}, "", 0, false},
		{"outside the layout", FetchHead{Size: 100, Path: "../Camera1/x.mp4"}, "", 0, false},
		{"absolute", FetchHead{Size: 100, Path: "/etc/Camera1.mp4"}, "", 0, false},
		{"not a segment", FetchHead{Size: 100, Path: "Camera1/x.txt"}, "", 0, false},
		{"negative", FetchHead{Size: -1, Path: rel}, "", 0, false},
		{"too large", FetchHead{Size: maxOpenFile + 1, Path: rel}, "", 0, false},
		{"from where the parent holds nothing", FetchHead{Size: 100, Path: rel, From: 40}, "", 0, false},
		{"from another offset", FetchHead{Size: 100, Path: rel, From: 50}, rel, 40, false},
		{"from past the end", FetchHead{Size: 30, Path: rel, From: 40}, rel, 40, false},
	} {
		err := checkOpenHead(c.h, "Camera1", c.have, c.offset)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
