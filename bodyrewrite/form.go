package bodyrewrite

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ScanForm returns the fields of an application/x-www-form-urlencoded body.
// Names and values are percent-decoded ('+' is a space); a bad escape is an
// error. Pairs without '=' are fields with an empty value.
func ScanForm(body []byte, lim Limits) ([]Field, error) {
	lim = lim.orDefault()
	var out []Field
	pos := 0
	for pos <= len(body) {
		end := bytes.IndexByte(body[pos:], '&')
		if end < 0 {
			end = len(body)
		} else {
			end += pos
		}
		pair := body[pos:end]
		if len(pair) > 0 {
			if len(out) >= lim.MaxFields {
				return nil, fmt.Errorf("%w: more than %d form fields", ErrLimit, lim.MaxFields)
			}
			k, v := pair, []byte(nil)
			vstart, bare := end, true
			if eq := bytes.IndexByte(pair, '='); eq >= 0 {
				k, v = pair[:eq], pair[eq+1:]
				vstart, bare = pos+eq+1, false
			}
			name, err := url.QueryUnescape(string(k))
			if err != nil {
				return nil, fmt.Errorf("%w: bad percent-encoding in a form field name at byte %d", ErrMalformed, pos)
			}
			val, err := url.QueryUnescape(string(v))
			if err != nil {
				return nil, fmt.Errorf("%w: bad percent-encoding in a form field value at byte %d", ErrMalformed, vstart)
			}
			f, err := nameField(name, lim)
			if err != nil {
				return nil, err
			}
			f.Value, f.Kind, f.Enc, f.start, f.end, f.bare = val, String, Form, vstart, end, bare
			out = append(out, f)
		}
		pos = end + 1
	}
	return out, nil
}

// nameField starts a Field for a form or multipart field name: its path as
// cardproxy splits it and, where PHP reads the name differently, PHP's.
func nameField(name string, lim Limits) (Field, error) {
	path := SplitName(name)
	if len(path) > lim.MaxDepth {
		return Field{}, fmt.Errorf("%w: a form field name has more than %d segments", ErrLimit, lim.MaxDepth)
	}
	f := Field{Path: path}
	if alt := phpPath(name); !slices.Equal(alt, path) {
		f.Alt = alt
	}
	if qs := qsPath(name); qs != nil && !slices.Equal(qs, path) && !slices.Equal(qs, f.Alt) {
		f.QS = qs
	}
	return f, nil
}

// qsPath is how Node's qs (Express's extended forms) reads a name that
// starts with a bracket group: "[card_number]" is card_number there, and a
// trailing unclosed group is one more key ("[card_number][x" is
// card_number → "[x"). Nil for other names (SplitName reads them as qs does).
func qsPath(name string) []string {
	if !strings.HasPrefix(name, "[") {
		return nil
	}
	var path []string
	rest := name
	for strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			break
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	if len(path) == 0 {
		return nil
	}
	if rest != "" {
		path = append(path, rest)
	}
	return path
}

// phpPath is how PHP names a form variable ($_POST): cut at a NUL byte,
// leading spaces dropped; in the base name (before the first '['), ' ' and
// '.' become '_', and without a closing ']' every '[' becomes '_'; then one
// segment per [...] group, anything after the last group ignored.
func phpPath(name string) []string {
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimLeft(name, " ")
	base, rest := name, ""
	if i := strings.IndexByte(name, '['); i >= 0 {
		if strings.IndexByte(name[i:], ']') < 0 {
			base = strings.ReplaceAll(name, "[", "_")
		} else {
			base, rest = name[:i], name[i:]
		}
	}
	path := []string{strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' {
			return '_'
		}
		return r
	}, base)}
	for len(rest) > 0 && rest[0] == '[' {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			break
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	return path
}
