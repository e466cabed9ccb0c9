package main

import "fmt"

// palette names colours for people: the nearest entry names a mean
// colour.
var palette = []struct {
	name string
	c    rgb
}{
	{"black", rgb{0, 0, 0}},
	{"dark grey", rgb{64, 64, 64}},
	{"grey", rgb{128, 128, 128}},
	{"light grey", rgb{192, 192, 192}},
	{"white", rgb{255, 255, 255}},
	{"red", rgb{220, 20, 20}},
	{"dark red", rgb{128, 0, 0}},
	{"orange", rgb{255, 150, 0}},
	{"brown", rgb{130, 75, 30}},
	{"yellow", rgb{240, 230, 30}},
	{"olive", rgb{128, 128, 0}},
	{"green", rgb{30, 170, 30}},
	{"dark green", rgb{0, 90, 0}},
	{"teal", rgb{0, 128, 128}},
	{"cyan", rgb{0, 230, 230}},
	{"blue", rgb{20, 40, 230}},
	{"navy", rgb{0, 0, 110}},
	{"purple", rgb{120, 30, 140}},
	{"magenta", rgb{230, 0, 230}},
	{"pink", rgb{255, 180, 200}},
}

// colorName names c, e.g. "red (201, 35, 30)".
func colorName(c rgb) string {
	best := 0
	for i, p := range palette {
		if c.dist(p.c) < c.dist(palette[best].c) {
			best = i
		}
	}
	v := c.ints()
	return fmt.Sprintf("%s (%d, %d, %d)", palette[best].name, v[0], v[1], v[2])
}
