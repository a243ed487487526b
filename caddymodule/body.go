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
	kindNone bodyKind = iota
	kindJSON
	kindForm
	kindMultipart
)

// mediaKind maps a media type (already parsed, without parameters).
func mediaKind(mt string) bodyKind {
	switch {
	case mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return kindJSON
	case mt == "application/x-www-form-urlencoded":
		return kindForm
	case mt == "multipart/form-data":
		return kindMultipart
	}
	return kindNone
}

// classify parses a Content-Type header.
func classify(ct string) (bodyKind, map[string]string) {
	if ct == "" {
		return kindNone, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return kindNone, nil
	}
	return mediaKind(mt), params
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
// are 400, well-formed ones cardproxy cannot look into are 415.
func scanBody(kind bodyKind, params map[string]string, body []byte) ([]bodyrewrite.Field, *httpError) {
	var fields []bodyrewrite.Field
	var err error
	switch kind {
	case kindJSON:
		fields, err = bodyrewrite.ScanJSON(body)
	case kindForm:
		fields, err = bodyrewrite.ScanForm(body)
	case kindMultipart:
		fields, err = bodyrewrite.ScanMultipart(body, params["boundary"])
	}
	switch {
	case err == nil:
		return fields, nil
	case errors.Is(err, bodyrewrite.ErrUnsupported):
		return nil, &httpError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_encoding", Message: err.Error()}
	default:
		return nil, &httpError{Status: http.StatusBadRequest, Code: "malformed_body", Message: err.Error()}
	}
}
