package bodyrewrite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"testing"
	"unicode/utf8"
)

// The fuzz targets below hold every scanner to the promise of the package:
// fields lie inside the body, leaf values do not overlap and read back as
// their Value from their raw bytes; putting a marker in every leaf and
// scanning again finds the markers at the same paths, and every byte
// outside the values is as it was.
//
//	go test -run '^$' -fuzz '^FuzzScanJSON$' -fuzztime 60s ./bodyrewrite
//	scripts/fuzz.sh 60   (every target in the repository)

func FuzzScanJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,"b",{"c":null}],"d":"\u00e9"}`,
		string(benchOrder),
		`[{"n":-1.5e3},"\ud83d\ude00",true,false,null,{}, [], "\"\\\/\b\f\n\r\t"]`,
		`{"a":{"a":{"a":"x"}},"a":"dup"}`,
		`  "bare"  `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := ScanJSON(b, DefaultLimits)
		if err != nil {
			return
		}
		checkScan(t, b, fs, func(out []byte) ([]Field, error) {
			if !json.Valid(out) {
				return nil, fmt.Errorf("rewritten JSON is not valid")
			}
			return ScanJSON(out, DefaultLimits)
		})
		// Replacing every string with itself re-encoded gives the same
		// document to encoding/json.
		var edits []Edit
		for i := range fs {
			if fs[i].Kind == String {
				edits = append(edits, Edit{Field: &fs[i], Raw: fs[i].Encode(fs[i].Value)})
			}
		}
		out := Apply(b, edits)
		var x, y any
		if json.Unmarshal(b, &x) != nil {
			return // valid syntax that encoding/json cannot hold (e.g. 1E1000)
		}
		if json.Unmarshal(out, &y) != nil || !reflect.DeepEqual(x, y) {
			t.Fatalf("rewrite changed the document")
		}
	})
}

func FuzzScanForm(f *testing.F) {
	for _, s := range []string{
		"a=1&b%5Bc%5D=x+y&d",
		// Stripe's form: bracketed names, '+' spaces, percent escapes.
		"card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2030&card[cvc]=123&metadata[note]=hi+there%21",
		// A 3-D Secure return form.
		"PaRes=eJzVWNuyo0iOfa%2BvqOh5dExxM2DoOOWNxGCbOw&MD=123456789012",
		"card.number=4111+1111+1111+1111&cvc[]=123&&=&a=1;b=2&%5Bx%5D=y",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := ScanForm(b, DefaultLimits)
		if err != nil {
			return
		}
		checkScan(t, b, fs, func(out []byte) ([]Field, error) { return ScanForm(out, DefaultLimits) })
	})
}

func FuzzScanMultipart(f *testing.F) {
	const b = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
	for _, s := range []struct{ boundary, body string }{
		{"b", "--b\r\nContent-Disposition: form-data; name=\"card_number\"\r\n\r\n4111111111111111\r\n--b--\r\n"},
		{b[2:], "--" + b[2:] + "\r\nContent-Disposition: form-data; name=\"payment[cc_number]\"\r\n\r\n4111 1111 1111 1111\r\n" +
			"--" + b[2:] + "\r\nContent-Disposition: form-data; name=\"receipt\"; filename=\"r.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n\x00\xff\r\n" +
			"--" + b[2:] + "\r\nContent-Disposition: form-data; name=\"note\"; filename=\"\"\r\n\r\n\r\n" +
			"--" + b[2:] + "--"},
		{"x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n--x\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--x--\r\n"},
	} {
		f.Add(s.boundary, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, boundary string, b []byte) {
		fs, err := ScanMultipart(b, boundary, DefaultLimits)
		if err != nil {
			return
		}
		checkScan(t, b, fs, func(out []byte) ([]Field, error) { return ScanMultipart(out, boundary, DefaultLimits) })
	})
}

// checkScan checks the fields fs scanned from b, then writes a marker into
// every String and Number leaf, scans the result with rescan and checks
// that it finds the markers at the same paths and the other bytes as they
// were.
func checkScan(t *testing.T, b []byte, fs []Field, rescan func([]byte) ([]Field, error)) {
	t.Helper()
	end := 0
	var edits []Edit
	var idx []int // fs index of each edit
	for i := range fs {
		f := &fs[i]
		if f.start < 0 || f.start > f.end || f.end > len(b) {
			t.Fatalf("field %d: range %d–%d outside the body (%d bytes)", i, f.start, f.end, len(b))
		}
		if f.Kind == Object {
			if !json.Valid(f.Raw(b)) {
				t.Fatalf("field %d: object range is not a JSON value", i)
			}
			continue
		}
		if f.start < end {
			t.Fatalf("field %d: leaf values overlap or out of order (%d < %d)", i, f.start, end)
		}
		end = f.end
		if v, ok := rawValue(f, f.Raw(b)); !ok || v != f.Value {
			t.Fatalf("field %d: raw bytes do not read as the value", i)
		}
		if f.Kind == String || f.Kind == Number {
			edits = append(edits, Edit{Field: f, Raw: f.Encode(marker(i))})
			idx = append(idx, i)
		}
	}
	out := Apply(b, edits)
	gs, err := rescan(out)
	if err != nil {
		t.Fatalf("the body with markers does not scan: %v", err)
	}
	if len(gs) != len(fs) {
		t.Fatalf("the body with markers has %d fields, not %d", len(gs), len(fs))
	}
	var in, got []byte // the bytes outside the rewritten values
	pos, opos := 0, 0
	for _, i := range idx {
		g := &gs[i]
		if !reflect.DeepEqual(g.Readings(), fs[i].Readings()) || g.Value != marker(i) || g.Kind != String {
			t.Fatalf("field %d: the marker is not found at its path", i)
		}
		in = append(in, b[pos:fs[i].start]...)
		got = append(got, out[opos:g.start]...)
		if fs[i].bare { // a pair without '=' gets one with its value
			in = append(in, '=')
		}
		pos, opos = fs[i].end, g.end
	}
	in, got = append(in, b[pos:]...), append(got, out[opos:]...)
	if !bytes.Equal(in, got) {
		t.Fatalf("bytes outside the values changed")
	}
}

func marker(i int) string { return fmt.Sprintf("M%dZ", i) }

// rawValue reads a leaf's raw bytes as its scanner decodes them.
func rawValue(f *Field, raw []byte) (string, bool) {
	switch {
	case f.Enc == JSON && f.Kind == String:
		if !utf8.Valid(raw) {
			return f.Value, true // kept as sent without escapes; encoding/json reads U+FFFD
		}
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	case f.Enc == Form:
		s, err := url.QueryUnescape(string(raw))
		return s, err == nil
	}
	return string(raw), true
}
