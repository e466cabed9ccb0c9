package anpr

import "testing"

// digit paints a small glyph (a region cell's digit): an outlined box
// rows [y0, y1) high, 10 pixels wide.
func (l *testLine) digit(x, y0, y1 int) {
	l.fill(x, y0, x+3, y1, 20, 20, 20)
	l.fill(x+7, y0, x+10, y1, 20, 20, 20)
	l.fill(x, y0, x+10, y0+3, 20, 20, 20)
	l.fill(x, y1-3, x+10, y1, 20, 20, 20)
}

// TestFindCellReadsTheRegionApart: after the number's glyphs, smaller digits
// that stand high with print under them are a region cell; full-height
// characters at the end (a Kazakh region) or small ones with nothing under
// them are not.
func TestFindCellReadsTheRegionApart(t *testing.T) {
	number := func() *testLine {
		l := newTestLine(300)
		for x := 10; x < 200; x += 30 {
			l.glyph(x)
		}
		return l
	}
	ru := number()
	ru.fill(232, 2, 234, 46, 90, 90, 90) // the cell's bar, faint
	ru.digit(246, 8, 28)
	ru.digit(260, 8, 28)
	ru.fill(244, 33, 252, 38, 40, 40, 40) // RUS
	ru.fill(256, 33, 262, 38, 40, 40, 40)
	c, ok := findCell(ru.px, ru.w, recHeight, lineCleanup{x0: 0, x1: 300, bg: [3]float32{235, 235, 235}})
	if !ok {
		t.Fatal("no cell found on a line with a region cell")
	}
	if c.x0 < 222 || c.x0 > 246 || c.x1 < 270 || c.y0 > 8 || c.y1 < 28 || c.y1 > 33 {
		t.Errorf("cell %+v, want the digits' box 246–270 × 8–28 with a margin, above RUS", c)
	}

	// blur broke the first digit (a 7 of 70) down to its top bar: the
	// piece in the cell's rows is the cell's too
	broken := number()
	broken.fill(232, 2, 234, 46, 90, 90, 90)
	broken.fill(244, 8, 254, 11, 20, 20, 20) // what is left of a 7
	broken.digit(260, 8, 28)
	broken.fill(244, 33, 252, 38, 40, 40, 40)
	broken.fill(256, 33, 262, 38, 40, 40, 40)
	if c, ok := findCell(broken.px, broken.w, recHeight, lineCleanup{x0: 0, x1: 300, bg: [3]float32{235, 235, 235}}); !ok || c.x0 > 244 {
		t.Errorf("cell %+v (found %v), want it to begin at the broken digit's piece, 244", c, ok)
	}

	kz := number()
	kz.glyph(236)
	kz.glyph(262)
	if c, ok := findCell(kz.px, kz.w, recHeight, lineCleanup{x0: 0, x1: 300, bg: [3]float32{235, 235, 235}}); ok {
		t.Errorf("cell %+v found among full-height characters", c)
	}
	high := number()
	high.digit(246, 8, 28)
	high.digit(260, 8, 28)
	if c, ok := findCell(high.px, high.w, recHeight, lineCleanup{x0: 0, x1: 300, bg: [3]float32{235, 235, 235}}); ok {
		t.Errorf("cell %+v found with no print under the digits", c)
	}
	dark := number()
	if _, ok := findCell(dark.px, dark.w, recHeight, lineCleanup{x0: 0, x1: 300, bg: [3]float32{30, 30, 30}}); ok {
		t.Error("cell found on a line too dark to tell ink")
	}
}
