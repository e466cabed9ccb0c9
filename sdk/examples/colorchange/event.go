package main

import (
	"fmt"

	"github.com/kuzet/kuzet/sdk/plugin"
)

// kind is the event's kind; the node stores it as
// plugin.<name>.color_change.
const kind = "color_change"

// colorEvent is the event a change of camera's picture raises, at the time
// of frame f; snap may be nil.
func colorEvent(camera string, f plugin.Frame, ch change, snap []byte) plugin.Out {
	return plugin.Out{
		Kind:     kind,
		Camera:   camera,
		Time:     f.Time,
		Severity: plugin.SeverityMedium,
		Message:  fmt.Sprintf("the picture turned from %s to %s", colorName(ch.from), colorName(ch.to)),
		Data:     map[string][3]int{"from": ch.from.ints(), "to": ch.to.ints()},
		Snapshot: snap,
	}
}
