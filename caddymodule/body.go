package caddymodule

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/cardproxy/cardproxy/bodyrewrite"
)

// bodyKind is a body format cardproxy can scan.
type bodyKind int

const (
	kindNone  bodyKind = iota // no Content-Type
	kindOther                 // a type cardproxy does not parse: scanned as text
	kindJSON
	kindForm
	kindMultipart
)

// mediaKind maps a media type essence (lower case, no parameters).
func mediaKind(mt string) bodyKind {
	switch {
	case mt == "":
		return kindNone
	case mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return kindJSON
	case mt == "application/x-www-form-urlencoded":
		return kindForm
	case mt == "multipart/form-data":
		return kindMultipart
	}
	return kindOther
}

// essence is a media type the way mainstream frameworks read it: what comes
// before the first ';', trimmed, lower case. Junk parameters never turn a
// JSON or form body into something cardproxy does not look at.
func essence(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// classify reads a request's Content-Type. Two Content-Type headers, or one
// whose media type has a ',' or a space, are refused (apps disagree on which
// one counts); so are multipart bodies
// whose parameters do not parse, and JSON or form bodies in a charset other
// than UTF-8 or ASCII (an app decoding UTF-16 or UTF-7 would read digits
// cardproxy cannot see).
func classify(h http.Header) (bodyKind, map[string]string, *httpError) {
	cts := h.Values("Content-Type")
	if len(cts) > 1 {
		return kindNone, nil, &httpError{Status: http.StatusBadRequest, Code: "ambiguous_content_type",
			Message: "the request has more than one Content-Type header; send exactly one"}
	}
	if len(cts) == 0 {
		return kindNone, nil, nil
	}
	mt := essence(cts[0])
	if strings.ContainsAny(mt, ", \t") {
		// PHP cuts a media type at ',' or a space, Go refuses it: apps
		// disagree on what "application/x-www-form-urlencoded,x" is.
		return kindNone, nil, &httpError{Status: http.StatusBadRequest, Code: "ambiguous_content_type",
			Message: "the Content-Type has a ',' or a space in its media type; send one media type, parameters after ';'"}
	}
	kind := mediaKind(mt)
	_, params, err := mime.ParseMediaType(cts[0])
	if kind == kindMultipart && (err != nil || params["boundary"] == "") {
		return kind, nil, &httpError{Status: http.StatusBadRequest, Code: "malformed_content_type",
			Message: `multipart/form-data needs a Content-Type of the form multipart/form-data; boundary=…, with no other malformed parameters`}
	}
	// Any type: Django decodes form and multipart names and values with the
	// charset (cp037 turns bytes cardproxy sees as letters into a card
	// number); Express's text() and Django's request.encoding decode UTF-7.
	cs := strings.ToLower(strings.Trim(params["charset"], `"' `))
	if (err != nil && strings.Contains(strings.ToLower(cts[0]), "charset")) || (cs != "" && !asciiCharsets[cs]) {
		return kind, nil, &httpError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_charset",
			Message: "card requests must be UTF-8 (or ASCII / ISO-8859-1): send charset=utf-8 or no charset parameter"}
	}
	return kind, params, nil
}

// asciiCharsets decode ASCII digits and letters as ASCII, and no other byte
// as a digit.
var asciiCharsets = map[string]bool{"utf-8": true, "utf8": true, "us-ascii": true, "ascii": true,
	"iso-8859-1": true, "latin1": true, "iso-8859-15": true, "windows-1252": true, "cp1252": true}

// contentEncoding reads a request's Content-Encoding: none, identity or
// gzip, exactly once. Lists and repeated headers are refused (a later
// gzip could hide the body from a scan of the first).
func contentEncoding(h http.Header) (gz bool, herr *httpError) {
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
	return false, &httpError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_content_encoding",
		Message: "card requests must have no Content-Encoding, identity or gzip, given once; other, listed or repeated encodings are refused"}
}

// readBody reads a request body of at most limit bytes: a declared or actual
// length past the limit is 413.
func readBody(r *http.Request, limit int64) ([]byte, *httpError) {
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	_ = r.Body.Close()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(limit)
		}
		return nil, &httpError{Status: http.StatusBadRequest, Code: "body_read_error", Message: "could not read the request body", cause: err}
	}
	return b, nil
}

// errDecodedTooLarge: a gzip body decodes to more than the limit.
var errDecodedTooLarge = errors.New("decoded body too large")

// gunzip decodes a gzip body, at most limit bytes of output.
func gunzip(raw []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errDecodedTooLarge
	}
	return body, nil
}

// scanBody lists the fields of a body of a scannable kind. Malformed bodies
// are 400, bodies over the limits 413 (too many values) or 400 (too deep),
// well-formed ones cardproxy cannot look into 415.
func scanBody(kind bodyKind, params map[string]string, body []byte, lim bodyrewrite.Limits) ([]bodyrewrite.Field, *httpError) {
	var fields []bodyrewrite.Field
	var err error
	switch kind {
	case kindJSON:
		fields, err = bodyrewrite.ScanJSON(body, lim)
	case kindForm:
		fields, err = bodyrewrite.ScanForm(body, lim)
	case kindMultipart:
		fields, err = bodyrewrite.ScanMultipart(body, params["boundary"], lim)
	}
	switch {
	case err == nil:
		return fields, nil
	case errors.Is(err, bodyrewrite.ErrLimit):
		return nil, &httpError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_complex", Message: err.Error() +
			" (max_fields, max_depth)"}
	case errors.Is(err, bodyrewrite.ErrUnsupported):
		return nil, &httpError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_encoding", Message: err.Error()}
	default:
		return nil, &httpError{Status: http.StatusBadRequest, Code: "malformed_body", Message: err.Error()}
	}
}
