// Package httpbody reads card request bodies the way app frameworks do: the
// media type (Classify), the Content-Encoding, the size limits, and the
// scan into fields (Scan) — refusing, with a refusal code, whatever two
// frameworks could read differently.
package httpbody

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/refusal"
)

// Kind is a body format cardproxy can scan.
type Kind int

const (
	None  Kind = iota // no Content-Type
	Other             // a type cardproxy does not parse: scanned as text
	JSON
	Form
	Multipart
)

// MediaKind maps a media type Essence (lower case, no parameters).
func MediaKind(mt string) Kind {
	switch {
	case mt == "":
		return None
	case mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return JSON
	case mt == "application/x-www-form-urlencoded":
		return Form
	case mt == "multipart/form-data":
		return Multipart
	}
	return Other
}

// Essence is a media type the way mainstream frameworks read it: what comes
// before the first ';', trimmed, lower case. Junk parameters never turn a
// JSON or form body into something cardproxy does not look at.
func Essence(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// Classify reads a request's Content-Type. Two Content-Type headers, or one
// whose media type has a ',' or a space, are refused (apps disagree on which
// one counts); so are multipart bodies
// whose parameters do not parse, and JSON or form bodies in a charset other
// than UTF-8 or ASCII (an app decoding UTF-16 or UTF-7 would read digits
// cardproxy cannot see).
func Classify(h http.Header) (Kind, map[string]string, *refusal.Error) {
	cts := h.Values("Content-Type")
	if len(cts) > 1 {
		return None, nil, refusal.New(refusal.AmbiguousContentType, "the request has more than one Content-Type header; send exactly one")
	}
	if len(cts) == 0 {
		return None, nil, nil
	}
	mt := Essence(cts[0])
	if strings.ContainsAny(mt, ", \t") {
		// PHP cuts a media type at ',' or a space, Go refuses it: apps
		// disagree on what "application/x-www-form-urlencoded,x" is.
		return None, nil, refusal.New(refusal.AmbiguousContentType, "the Content-Type has a ',' or a space in its media type; send one media type, parameters after ';'")
	}
	kind := MediaKind(mt)
	_, params, err := mime.ParseMediaType(cts[0])
	if kind == Multipart && (err != nil || params["boundary"] == "") {
		return kind, nil, refusal.New(refusal.MalformedContentType, `multipart/form-data needs a Content-Type of the form multipart/form-data; boundary=…, with no other malformed parameters`)
	}
	// Any type: Django decodes form and multipart names and values with the
	// charset (cp037 turns bytes cardproxy sees as letters into a card
	// number); Express's text() and Django's request.encoding decode UTF-7.
	cs := strings.ToLower(strings.Trim(params["charset"], `"' `))
	if (err != nil && strings.Contains(strings.ToLower(cts[0]), "charset")) || (cs != "" && !asciiCharsets[cs]) {
		return kind, nil, refusal.New(refusal.UnsupportedCharset, "card requests must be UTF-8 (or ASCII / ISO-8859-1): send charset=utf-8 or no charset parameter")
	}
	return kind, params, nil
}

// asciiCharsets decode ASCII digits and letters as ASCII, and no other byte
// as a digit.
var asciiCharsets = map[string]bool{"utf-8": true, "utf8": true, "us-ascii": true, "ascii": true,
	"iso-8859-1": true, "latin1": true, "iso-8859-15": true, "windows-1252": true, "cp1252": true}

// ContentEncoding reads a request's Content-Encoding: none, identity or
// gzip, exactly once. Lists and repeated headers are refused (a later
// gzip could hide the body from a scan of the first).
func ContentEncoding(h http.Header) (gz bool, herr *refusal.Error) {
	vs := h.Values("Content-Encoding")
	if len(vs) == 0 {
		return false, nil
	}
	enc := strings.ToLower(strings.TrimSpace(vs[0]))
	if len(vs) == 1 {
		switch enc {
		case "", "identity":
			return false, nil
		case "gzip", "x-gzip":
			return true, nil
		}
	}
	return false, refusal.New(refusal.UnsupportedContentEncoding, "card requests must have no Content-Encoding, identity or gzip, given once; other, listed or repeated encodings are refused")
}

// Read reads a request body of at most limit bytes: a declared or actual
// length past the limit is 413.
func Read(r *http.Request, limit int64) ([]byte, *refusal.Error) {
	if r.ContentLength > limit {
		return nil, TooLarge(limit)
	}
	body := http.MaxBytesReader(nil, r.Body, limit)
	var b []byte
	var err error
	if r.ContentLength > 0 {
		b, err = readKnown(body, r.ContentLength)
	} else {
		b, err = io.ReadAll(body)
	}
	_ = r.Body.Close()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, TooLarge(limit)
		}
		return nil, refusal.Because(refusal.BodyReadError, "could not read the request body", err)
	}
	return b, nil
}

// readKnown reads a body of declared length n. Memory follows what has
// arrived, not what was announced (a client can announce 1 MiB and send one
// byte): the buffer starts at 64 KiB and doubles, never past n, so a body
// that arrives whole ends in a buffer of exactly its length.
func readKnown(body io.Reader, n int64) ([]byte, error) {
	b := make([]byte, 0, min(n, 64<<10))
	for {
		if int64(len(b)) == int64(cap(b)) {
			if int64(cap(b)) == n {
				// All n bytes are in: one more must be EOF.
				var extra [1]byte
				if k, _ := body.Read(extra[:]); k > 0 {
					return nil, errors.New("body longer than its Content-Length")
				}
				return b, nil
			}
			b = append(make([]byte, 0, min(n, 2*int64(cap(b)))), b...)
		}
		k, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err == io.EOF {
			if int64(len(b)) < n {
				return nil, io.ErrUnexpectedEOF
			}
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// ErrDecodedTooLarge: a gzip body decodes to more than the limit.
var ErrDecodedTooLarge = errors.New("decoded body too large")

// Gunzip decodes a gzip body, at most limit bytes of output.
func Gunzip(raw []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, ErrDecodedTooLarge
	}
	return body, nil
}

// Scan lists the fields of a body of a scannable kind. Malformed bodies
// are 400, bodies over the limits 413 (too many values) or 400 (too deep),
// well-formed ones cardproxy cannot look into 415.
func Scan(kind Kind, params map[string]string, body []byte, lim bodyrewrite.Limits) ([]bodyrewrite.Field, *refusal.Error) {
	var fields []bodyrewrite.Field
	var err error
	switch kind {
	case JSON:
		fields, err = bodyrewrite.ScanJSON(body, lim)
	case Form:
		fields, err = bodyrewrite.ScanForm(body, lim)
	case Multipart:
		fields, err = bodyrewrite.ScanMultipart(body, params["boundary"], lim)
	}
	switch {
	case err == nil:
		return fields, nil
	case errors.Is(err, bodyrewrite.ErrLimit):
		return nil, refusal.New(refusal.BodyTooComplex, err.Error()+
			" (max_fields, max_depth)")
	case errors.Is(err, bodyrewrite.ErrUnsupported):
		return nil, refusal.New(refusal.UnsupportedEncoding, err.Error())
	default:
		return nil, refusal.New(refusal.MalformedBody, err.Error())
	}
}

func TooLarge(limit int64) *refusal.Error {
	return refusal.New(refusal.BodyTooLarge, fmt.Sprintf("request body exceeds the %d-byte limit for card requests (max_body)", limit))
}

// LooksJSON: a body that starts like a JSON object or array.
func LooksJSON(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

var UTF8BOM = []byte{0xEF, 0xBB, 0xBF}
