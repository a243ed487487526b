package bodyrewrite

import (
	"bytes"
	"fmt"
	"strings"
)

// ScanMultipart returns the parts of a multipart/form-data body: text parts
// (and parts with an empty filename, which several parsers read as values)
// as String fields, uploads as File fields whose Value is the content.
//
// It accepts only canonical multipart, as browsers and HTTP libraries send
// it, because parsers disagree on everything else (PHP, Werkzeug, busboy and
// Go's mime/multipart each accept different LF line breaks, preambles, header
// quirks and parameter forms): no preamble or transport padding, CRLF line
// breaks, part headers limited to one Content-Disposition `form-data;
// name="…"` (optionally `; filename="…"`) and, on uploads, one
// Content-Type, and no boundary string anywhere but at the delimiters.
// Anything else is ErrMalformed; a Content-Transfer-Encoding is
// ErrUnsupported.
func ScanMultipart(body []byte, boundary string, lim Limits) ([]Field, error) {
	lim = lim.orDefault()
	if !validBoundary(boundary) {
		return nil, fmt.Errorf("%w: multipart boundary missing or not made of letters, digits and '-_.'", ErrMalformed)
	}
	dash := []byte("--" + boundary)
	delim := []byte("\r\n--" + boundary)
	if !bytes.HasPrefix(body, append(dash, '\r', '\n')) {
		return nil, fmt.Errorf("%w: multipart body must start with its boundary line (no preamble, CRLF line breaks)", ErrMalformed)
	}
	pos := len(dash) + 2
	var out []Field
	for {
		if len(out) >= lim.MaxFields {
			return nil, fmt.Errorf("%w: more than %d multipart parts", ErrLimit, lim.MaxFields)
		}
		hend := bytes.Index(body[pos:], []byte("\r\n\r\n"))
		if hend < 0 {
			return nil, fmt.Errorf("%w: multipart part %d: headers not terminated by CRLF CRLF", ErrMalformed, len(out)+1)
		}
		f, err := partHeaders(string(body[pos:pos+hend]), len(out)+1, lim)
		if err != nil {
			return nil, err
		}
		start := pos + hend + 4
		next := bytes.Index(body[start:], delim)
		if next < 0 {
			return nil, fmt.Errorf("%w: multipart part %d not closed by its boundary", ErrMalformed, len(out)+1)
		}
		f.Value, f.Enc, f.start, f.end = string(body[start:start+next]), Multipart, start, start+next
		out = append(out, f)
		pos = start + next + len(delim)
		switch {
		case bytes.HasPrefix(body[pos:], []byte("\r\n")):
			pos += 2
		case bytes.HasPrefix(body[pos:], []byte("--")):
			if rest := body[pos+2:]; len(rest) != 0 && !bytes.Equal(rest, []byte("\r\n")) {
				return nil, fmt.Errorf("%w: data after the closing multipart boundary", ErrMalformed)
			}
			// Every occurrence of the boundary string is a delimiter we
			// parsed: none hides inside a part for a lenient parser.
			if bytes.Count(body, dash) != len(out)+1 {
				return nil, fmt.Errorf("%w: the multipart boundary string occurs inside a part", ErrMalformed)
			}
			return out, nil
		default:
			return nil, fmt.Errorf("%w: multipart delimiter line %d not followed by CRLF", ErrMalformed, len(out)+1)
		}
	}
}

// validBoundary: what browsers and libraries generate (RFC 2046 allows more,
// but parsers disagree on spaces and quoting).
func validBoundary(b string) bool {
	if b == "" || len(b) > 70 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '\'' || c == '=' || c == '+') {
			return false
		}
	}
	return true
}

// partHeaders parses the header block of one part, strictly.
func partHeaders(block string, n int, lim Limits) (Field, error) {
	bad := func(what string) (Field, error) {
		return Field{}, fmt.Errorf("%w: multipart part %d: %s", ErrMalformed, n, what)
	}
	var disp, ctype string
	seenDisp, seenType := false, false
	for _, line := range strings.Split(block, "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(line, "\r\n") {
			return bad("malformed header line")
		}
		value = strings.TrimLeft(value, " ")
		switch {
		case strings.EqualFold(name, "Content-Disposition") && !seenDisp:
			disp, seenDisp = value, true
		case strings.EqualFold(name, "Content-Type") && !seenType:
			ctype, seenType = value, true
		case strings.EqualFold(name, "Content-Transfer-Encoding"):
			return Field{}, fmt.Errorf("%w: multipart part %d uses a Content-Transfer-Encoding, which cardproxy does not decode", ErrUnsupported, n)
		default:
			return bad("only one Content-Disposition and one Content-Type header are allowed")
		}
	}
	name, file, isFile, ok := formData(disp)
	if !ok {
		return bad(`Content-Disposition must be exactly form-data; name="…" (optionally ; filename="…")`)
	}
	if seenType && (!isFile || strings.ContainsAny(ctype, "\"\\")) {
		return bad("Content-Type is allowed on file uploads only")
	}
	f, err := nameField(name, lim)
	if err != nil {
		return Field{}, err
	}
	f.Kind = String
	if isFile && file != "" {
		// filename="" is a plain value to Go, Django and busboy (PHP
		// and Werkzeug see an empty upload): it is treated as a value.
		f.Kind, f.FileName = File, file
	}
	return f, nil
}

// formData parses `form-data; name="n"` or `form-data; name="n";
// filename="f"` exactly: quoted values without quotes or backslashes.
func formData(s string) (name, file string, isFile, ok bool) {
	rest, found := strings.CutPrefix(s, "form-data; name=\"")
	if !found {
		return "", "", false, false
	}
	i := strings.IndexAny(rest, "\"\\")
	if i < 0 || rest[i] != '"' {
		return "", "", false, false
	}
	name, rest = rest[:i], rest[i+1:]
	if rest == "" {
		return name, "", false, true
	}
	rest, found = strings.CutPrefix(rest, "; filename=\"")
	if !found || !strings.HasSuffix(rest, "\"") {
		return "", "", false, false
	}
	file = rest[:len(rest)-1]
	if strings.ContainsAny(file, "\"\\") {
		return "", "", false, false
	}
	return name, file, true, true
}
