package bodyrewrite

import (
	"bufio"
	"bytes"
	"fmt"
	"mime"
	"net/textproto"
	"strings"
)

// ScanMultipart returns the text parts of a multipart/form-data body. Parts
// with a filename (uploads) are left out and never touched. A part with a
// Content-Transfer-Encoding other than 7bit, 8bit or binary is refused:
// cardproxy could not see a card number inside it.
func ScanMultipart(body []byte, boundary string) ([]Field, error) {
	if boundary == "" || len(boundary) > 70 {
		return nil, fmt.Errorf("%w: multipart body without a valid boundary", ErrMalformed)
	}
	dash := []byte("--" + boundary)
	delim := []byte("\r\n--" + boundary)
	var pos int
	switch {
	case bytes.HasPrefix(body, dash):
		pos = len(dash)
	default:
		i := bytes.Index(body, delim)
		if i < 0 {
			return nil, fmt.Errorf("%w: multipart boundary not found", ErrMalformed)
		}
		pos = i + len(delim)
	}
	var out []Field
	for {
		// After a delimiter: "--" closes, else optional whitespace + CRLF.
		if bytes.HasPrefix(body[pos:], []byte("--")) {
			return out, nil
		}
		nl := bytes.Index(body[pos:], []byte("\r\n"))
		if nl < 0 || strings.TrimSpace(string(body[pos:pos+nl])) != "" {
			return nil, fmt.Errorf("%w: malformed multipart delimiter line", ErrMalformed)
		}
		pos += nl + 2
		hend := bytes.Index(body[pos:], []byte("\r\n\r\n"))
		var hdrBytes []byte
		if bytes.HasPrefix(body[pos:], []byte("\r\n")) { // no headers
			hend, hdrBytes = 0, nil
			pos += 2
		} else {
			if hend < 0 {
				return nil, fmt.Errorf("%w: multipart part headers not terminated", ErrMalformed)
			}
			hdrBytes = body[pos : pos+hend+4]
			pos += hend + 4
		}
		next := bytes.Index(body[pos:], delim)
		if next < 0 {
			return nil, fmt.Errorf("%w: multipart body not closed by its boundary", ErrMalformed)
		}
		start, end := pos, pos+next
		pos = end + len(delim)

		var hdr textproto.MIMEHeader
		if hdrBytes != nil {
			h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(hdrBytes))).ReadMIMEHeader()
			if err != nil {
				return nil, fmt.Errorf("%w: malformed multipart part headers", ErrMalformed)
			}
			hdr = h
		}
		disp, params, err := mime.ParseMediaType(hdr.Get("Content-Disposition"))
		if err != nil || disp != "form-data" {
			continue // not a form field
		}
		if _, isFile := params["filename"]; isFile {
			continue
		}
		switch cte := strings.ToLower(strings.TrimSpace(hdr.Get("Content-Transfer-Encoding"))); cte {
		case "", "7bit", "8bit", "binary":
		default:
			return nil, fmt.Errorf("%w: multipart field %q uses Content-Transfer-Encoding %q, which cardproxy does not decode", ErrUnsupported, params["name"], cte)
		}
		out = append(out, Field{Path: SplitName(params["name"]), Value: string(body[start:end]), Kind: String, Enc: Multipart, start: start, end: end})
	}
}
