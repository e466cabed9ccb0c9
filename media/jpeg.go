package media

import (
	"encoding/binary"
	"errors"
)

// JPEGSize reads a JPEG picture's width and height from its start of
// frame (ISO/IEC 10918-1 B.2.2), walking the marker segments before it.
func JPEGSize(b []byte) (w, h int, err error) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return 0, 0, errors.New("jpeg: no start of image")
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xff {
			return 0, 0, errors.New("jpeg: marker expected")
		}
		m := b[i+1]
		if m == 0xff { // fill byte
			i++
			continue
		}
		if m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7) {
			i += 2 // markers without a length
			continue
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 0, 0, errors.New("jpeg: segment runs past the picture")
		}
		// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
		if m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc {
			if n < 7 {
				return 0, 0, errors.New("jpeg: short start of frame")
			}
			h = int(binary.BigEndian.Uint16(b[i+5:]))
			w = int(binary.BigEndian.Uint16(b[i+7:]))
			if w == 0 || h == 0 {
				return 0, 0, errors.New("jpeg: zero size in start of frame")
			}
			return w, h, nil
		}
		if m == 0xda || m == 0xd9 {
			break // scan data or the end: no frame header before it
		}
		i += 2 + n
	}
	return 0, 0, errors.New("jpeg: no start of frame")
}
