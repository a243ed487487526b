package httpbody

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/refusal"
)

// TestClassify: media types read as frameworks read them; what two
// frameworks could read differently is refused.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		cts  []string
		kind Kind
		code refusal.Code
	}{
		{nil, None, ""},
		{[]string{"application/json"}, JSON, ""},
		{[]string{"Application/JSON ; charset=UTF-8;"}, JSON, ""},
		{[]string{"application/vnd.api+json"}, JSON, ""},
		{[]string{"application/x-www-form-urlencoded; charset=iso-8859-1"}, Form, ""},
		{[]string{"multipart/form-data; boundary=x"}, Multipart, ""},
		{[]string{"text/plain"}, Other, ""},
		{[]string{"application/json", "text/plain"}, None, refusal.AmbiguousContentType},
		{[]string{"application/x-www-form-urlencoded,text/plain"}, None, refusal.AmbiguousContentType},
		{[]string{"multipart/form-data"}, Multipart, refusal.MalformedContentType},
		{[]string{"application/json; charset=utf-7"}, JSON, refusal.UnsupportedCharset},
		{[]string{"text/plain; charset=cp037"}, Other, refusal.UnsupportedCharset},
	} {
		kind, _, rerr := Classify(http.Header{"Content-Type": tc.cts})
		if code := refusal.Code(""); rerr != nil {
			code = rerr.Code
			if code != tc.code {
				t.Errorf("%q: refused %s, want %q", tc.cts, code, tc.code)
			}
		} else if tc.code != "" || kind != tc.kind {
			t.Errorf("%q: kind %d, want %d / %s", tc.cts, kind, tc.kind, tc.code)
		}
	}
}

func TestContentEncodingAndRead(t *testing.T) {
	for enc, want := range map[string]bool{"": false, "identity": false, "gzip": true, "x-gzip": true} {
		if gz, rerr := ContentEncoding(http.Header{"Content-Encoding": {enc}}); rerr != nil || gz != want {
			t.Errorf("%q: %v %v", enc, gz, rerr)
		}
	}
	for _, h := range []http.Header{{"Content-Encoding": {"br"}}, {"Content-Encoding": {"gzip, gzip"}}, {"Content-Encoding": {"gzip", "gzip"}}} {
		if _, rerr := ContentEncoding(h); rerr == nil || rerr.Code != refusal.UnsupportedContentEncoding {
			t.Errorf("%v: %v", h, rerr)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 11)))
	if _, rerr := Read(r, 10); rerr == nil || rerr.Code != refusal.BodyTooLarge || rerr.Status() != 413 {
		t.Errorf("over the limit: %v", rerr)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	_, _ = zw.Write(bytes.Repeat([]byte("a"), 1000))
	_ = zw.Close()
	if _, err := Gunzip(zb.Bytes(), 999); err != ErrDecodedTooLarge {
		t.Errorf("gzip bomb: %v", err)
	}
	if out, err := Gunzip(zb.Bytes(), 1000); err != nil || len(out) != 1000 {
		t.Errorf("gzip: %d %v", len(out), err)
	}
}

func TestScanErrors(t *testing.T) {
	if _, rerr := Scan(JSON, nil, []byte(`{"a":`), bodyrewrite.DefaultLimits); rerr == nil || rerr.Code != refusal.MalformedBody {
		t.Errorf("broken JSON: %v", rerr)
	}
	if _, rerr := Scan(JSON, nil, []byte(`[[[[1]]]]`), bodyrewrite.Limits{MaxDepth: 2}); rerr == nil || rerr.Code != refusal.BodyTooComplex {
		t.Errorf("too deep: %v", rerr)
	}
	mp := "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==\r\n--b--\r\n"
	if _, rerr := Scan(Multipart, map[string]string{"boundary": "b"}, []byte(mp), bodyrewrite.DefaultLimits); rerr == nil || rerr.Code != refusal.UnsupportedEncoding {
		t.Errorf("transfer encoding: %v", rerr)
	}
}

// A body is read into memory that follows what arrived: an announced 1 MiB
// of which one byte came costs 64 KiB, not 1 MiB; a whole body ends in a
// buffer of exactly its length; short and long bodies are errors.
func TestReadKnown(t *testing.T) {
	const n = 1 << 20
	full := bytes.Repeat([]byte("a"), n)
	b, err := readKnown(bytes.NewReader(full), n)
	if err != nil || len(b) != n || cap(b) != n {
		t.Fatalf("whole body: len %d cap %d %v", len(b), cap(b), err)
	}
	if _, err := readKnown(bytes.NewReader(full[:n-1]), n); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: %v", err)
	}
	if _, err := readKnown(bytes.NewReader(append(full, 'x')), n); err == nil {
		t.Fatal("long body accepted")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		_, _ = readKnown(strings.NewReader("x"), n)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 128<<10 {
		t.Fatalf("an announced 1 MiB of which 1 byte came allocated %d bytes", per)
	}
}
