package plugin

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// readLine reads one '\n'-terminated line of at most max bytes (newline
// included) and returns it without its line ending. It returns io.EOF only
// when the stream ends cleanly between lines, io.ErrUnexpectedEOF when it
// ends inside one. The bound holds before anything is kept, so a peer that
// never sends a newline costs at most max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
		case err == io.EOF && len(line) == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
