package bodyrewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unsafe"
)

// ScanJSON returns every string, number and literal leaf of a JSON document,
// and every object and array (Kind Object) with its whole byte range. Values
// may share memory with body, which must not change while they are in use.
// The document is validated first: truncated or otherwise invalid JSON is an
// error, never a partial scan.
func ScanJSON(body []byte, lim Limits) ([]Field, error) {
	lim = lim.orDefault()
	if !json.Valid(body) {
		var v any
		err := json.Unmarshal(body, &v)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: invalid JSON at byte %d", ErrMalformed, se.Offset)
		}
		return nil, fmt.Errorf("%w: invalid JSON", ErrMalformed)
	}
	// Every leaf follows a ':' or ',' or is the whole document: size the
	// result once instead of growing it (never past the limit).
	n := min(bytes.Count(body, []byte(":"))+bytes.Count(body, []byte(","))+1, lim.MaxFields+1)
	s := &jscan{b: body, lim: lim, out: make([]Field, 0, n)}
	s.ws()
	if err := s.value(nil, 0); err != nil {
		return nil, err
	}
	return s.out, nil
}

type jscan struct {
	b   []byte
	i   int
	lim Limits
	out []Field
}

// add appends a field, failing once the body has more than MaxFields.
func (s *jscan) add(f Field) error {
	if len(s.out) >= s.lim.MaxFields {
		return fmt.Errorf("%w: more than %d JSON values", ErrLimit, s.lim.MaxFields)
	}
	s.out = append(s.out, f)
	return nil
}

func (s *jscan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *jscan) value(path []string, depth int) error {
	if depth > s.lim.MaxDepth {
		return fmt.Errorf("%w: JSON nested deeper than %d levels", ErrLimit, s.lim.MaxDepth)
	}
	switch c := s.b[s.i]; {
	case c == '{' || c == '[':
		idx := len(s.out)
		if err := s.add(Field{Path: path, Kind: Object, Enc: JSON, start: s.i}); err != nil {
			return err
		}
		var err error
		if c == '{' {
			err = s.object(path, depth)
		} else {
			err = s.array(path, depth)
		}
		s.out[idx].end = s.i
		return err
	case c == '"':
		start := s.i
		end := s.skipString()
		v, err := unquote(s.b[start:end])
		if err != nil {
			return err
		}
		return s.add(Field{Path: path, Value: v, Kind: String, Enc: JSON, start: start, end: end})
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		for s.i < len(s.b) && isNumByte(s.b[s.i]) {
			s.i++
		}
		return s.add(Field{Path: path, Value: string(s.b[start:s.i]), Kind: Number, Enc: JSON, start: start, end: s.i})
	default: // true, false, null
		start := s.i
		for s.i < len(s.b) && s.b[s.i] >= 'a' && s.b[s.i] <= 'z' {
			s.i++
		}
		return s.add(Field{Path: path, Value: string(s.b[start:s.i]), Kind: Other, Enc: JSON, start: start, end: s.i})
	}
}

func (s *jscan) object(path []string, depth int) error {
	s.i++ // '{'
	s.ws()
	if s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		start := s.i
		end := s.skipString()
		key, err := unquote(s.b[start:end])
		if err != nil {
			return err
		}
		s.ws()
		s.i++ // ':'
		s.ws()
		if err := s.value(append(path[:len(path):len(path)], key), depth+1); err != nil {
			return err
		}
		s.ws()
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		s.i++ // '}'
		return nil
	}
}

func (s *jscan) array(path []string, depth int) error {
	s.i++ // '['
	s.ws()
	if s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for n := 0; ; n++ {
		s.ws()
		if err := s.value(append(path[:len(path):len(path)], strconv.Itoa(n)), depth+1); err != nil {
			return err
		}
		s.ws()
		if s.b[s.i] == ',' {
			s.i++
			continue
		}
		s.i++ // ']'
		return nil
	}
}

// Raw returns the field's raw bytes in body (for Object fields: the whole
// object or array).
func (f *Field) Raw(body []byte) []byte { return body[f.start:f.end] }

func isNumByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skipString advances past a JSON string starting at s.i (a quote) and returns
// the end offset (after the closing quote). The input is already validated.
func (s *jscan) skipString() int {
	s.i++
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
		case '"':
			s.i++
			return s.i
		default:
			s.i++
		}
	}
	return s.i
}

func unquote(raw []byte) (string, error) {
	// Fast path: no escapes.
	simple := true
	for _, c := range raw[1 : len(raw)-1] {
		if c == '\\' {
			simple = false
			break
		}
	}
	if simple {
		// The value shares the body's memory (no copy of a large value): the
		// body is never modified in place (Apply writes a new one).
		if len(raw) == 2 {
			return "", nil
		}
		return unsafe.String(&raw[1], len(raw)-2), nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("%w: invalid JSON string", ErrMalformed)
	}
	return v, nil
}
