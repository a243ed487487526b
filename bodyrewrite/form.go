package bodyrewrite

import (
	"bytes"
	"fmt"
	"net/url"
)

// ScanForm returns the fields of an application/x-www-form-urlencoded body.
// Names and values are percent-decoded ('+' is a space); a bad escape is an
// error. Pairs without '=' are fields with an empty value.
func ScanForm(body []byte) ([]Field, error) {
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
			k, v := pair, []byte(nil)
			vstart := end
			if eq := bytes.IndexByte(pair, '='); eq >= 0 {
				k, v = pair[:eq], pair[eq+1:]
				vstart = pos + eq + 1
			}
			name, err := url.QueryUnescape(string(k))
			if err != nil {
				return nil, fmt.Errorf("%w: bad percent-encoding in a form field name at byte %d", ErrMalformed, pos)
			}
			val, err := url.QueryUnescape(string(v))
			if err != nil {
				return nil, fmt.Errorf("%w: bad percent-encoding in form field %q", ErrMalformed, name)
			}
			out = append(out, Field{Path: SplitName(name), Value: val, Kind: String, Enc: Form, start: vstart, end: end})
		}
		pos = end + 1
	}
	return out, nil
}
