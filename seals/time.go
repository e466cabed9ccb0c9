package seals

import (
	"encoding/json"
	"reflect"
	"time"
)

// Time is an instant of a message, RFC 3339 in JSON. A string that is not
// one is refused as a type error, which names the field it is in (a
// time.Time's own error does not).
type Time struct{ time.Time }

var timeType = reflect.TypeFor[time.Time]()

// At is t as a message's Time.
func At(t time.Time) Time { return Time{t} }

// UnmarshalJSON takes an RFC 3339 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	var v time.Time
	if err := v.UnmarshalJSON(b); err != nil {
		return &json.UnmarshalTypeError{Value: clip(string(b)), Type: timeType}
	}
	t.Time = v
	return nil
}
