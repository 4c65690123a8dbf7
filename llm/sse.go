package llm

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxSSELine bounds one line of a stream; a longer one is garbage.
const maxSSELine = 1 << 20

var errLineTooLong = errors.New("a stream line over 1 MiB")

// event is one server-sent event: its name ("" when it has none) and data
// (the data lines joined by "\n"). Raw is set for a line that is not SSE
// but a bare JSON object (Gemini may send its errors so).
type event struct {
	name string
	data []byte
	raw  bool
}

// sseReader reads server-sent events (the text/event-stream format).
type sseReader struct {
	r *bufio.Reader
}

func newSSEReader(r io.Reader) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next event, io.EOF at the end of the stream (an event
// whose blank line never came is returned first), or the read's error.
func (s *sseReader) next() (event, error) {
	var ev event
	has := false
	for {
		line, err := s.line()
		if err == io.EOF && has {
			return ev, nil
		}
		if err != nil {
			return event{}, err
		}
		switch {
		case len(line) == 0:
			if has {
				return ev, nil
			}
			ev = event{}
		case line[0] == ':': // a comment (keep-alive)
		case line[0] == '{' && !has:
			return event{data: line, raw: true}, nil
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				ev.name = string(value)
			case "data":
				if has {
					ev.data = append(ev.data, '\n')
				}
				ev.data = append(ev.data, value...)
				has = true
			}
		}
	}
}

// line returns the next line without its end (\n, \r\n).
func (s *sseReader) line() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if len(buf)+len(chunk) > maxSSELine {
			return nil, errLineTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(buf) > 0:
			return bytes.TrimRight(buf, "\r\n"), nil
		case err != nil:
			return nil, err
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}
