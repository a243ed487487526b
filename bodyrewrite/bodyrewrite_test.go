package bodyrewrite

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func find(fs []Field, name string) *Field {
	for i := range fs {
		if fs[i].Name() == name {
			return &fs[i]
		}
	}
	return nil
}

func TestScanJSONPathsAndOffsets(t *testing.T) {
	body := []byte(`{"type":"direct","gateway_info":{"card_number":"4111 1111 1111 1111","card_expiry_date":2512,"cvc":null,"flexible_3d":true},
	 "items":[{"n":"a\u0041"}, 7], "z": "<&>"}`)
	fs, err := ScanJSON(body, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	cn := find(fs, "gateway_info.card_number")
	if cn == nil || cn.Value != "4111 1111 1111 1111" || cn.Kind != String {
		t.Fatalf("card_number: %+v", cn)
	}
	if f := find(fs, "gateway_info.card_expiry_date"); f == nil || f.Kind != Number || f.Value != "2512" {
		t.Fatalf("expiry: %+v", f)
	}
	if f := find(fs, "gateway_info.cvc"); f == nil || f.Kind != Other || f.Value != "null" {
		t.Fatalf("cvc: %+v", f)
	}
	if f := find(fs, "items.0.n"); f == nil || f.Value != "aA" {
		t.Fatalf("escaped value: %+v", f)
	}
	if f := find(fs, "gateway_info"); f == nil || f.Kind != Object || !strings.HasPrefix(string(f.Raw(body)), `{"card_number"`) || !strings.HasSuffix(string(f.Raw(body)), "true}") {
		t.Fatalf("object range: %+v", f)
	}
	if f := find(fs, "items.1"); f == nil || f.Value != "7" {
		t.Fatalf("array number: %+v", f)
	}
	out := Apply(body, []Edit{
		{Field: cn, Raw: cn.Encode("cp_pan_x")},
		{Field: find(fs, "gateway_info.card_expiry_date"), Raw: []byte("2601")},
	})
	want := strings.Replace(strings.Replace(string(body), `"4111 1111 1111 1111"`, `"cp_pan_x"`, 1), "2512", "2601", 1)
	if string(out) != want {
		t.Fatalf("rewrite changed other bytes:\n got %s\nwant %s", out, want)
	}
}

func TestScanJSONRejects(t *testing.T) {
	for _, b := range []string{`{"a":`, `{"a":1}x`, `{'a':1}`, ``, `{"a":"\x"}`, `[1,]`} {
		if _, err := ScanJSON([]byte(b), DefaultLimits); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", b, err)
		}
	}
	deep := strings.Repeat("[", DefaultLimits.MaxDepth+2) + strings.Repeat("]", DefaultLimits.MaxDepth+2)
	if _, err := ScanJSON([]byte(deep), DefaultLimits); !errors.Is(err, ErrLimit) {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestJSONEncodeKeepsNumbers(t *testing.T) {
	f := Field{Enc: JSON, Kind: Number}
	if got := string(f.Encode("0123")); got != `"0123"` {
		t.Errorf("leading-zero digits must become a string, got %s", got)
	}
	if got := string(f.Encode("4111")); got != `4111` {
		t.Errorf("digits stay a number, got %s", got)
	}
	if got := string(f.Encode("cp_pan_a")); got != `"cp_pan_a"` {
		t.Errorf("token becomes a string, got %s", got)
	}
}

func TestScanForm(t *testing.T) {
	body := []byte("amount=10.00&payment%5Bcc_number%5D=4111+1111+1111+1111&payment[cc_cid]=123&flag&x=a%26b&cards[0][number]=5500000000000004&empty=")
	fs, err := ScanForm(body, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	cc := find(fs, "payment.cc_number")
	if cc == nil || cc.Value != "4111 1111 1111 1111" {
		t.Fatalf("cc_number: %+v", cc)
	}
	if f := find(fs, "cards.0.number"); f == nil || f.Value != "5500000000000004" {
		t.Fatalf("cards[0][number]: %+v", f)
	}
	if f := find(fs, "flag"); f == nil || f.Value != "" {
		t.Fatalf("flag: %+v", f)
	}
	if f := find(fs, "x"); f == nil || f.Value != "a&b" {
		t.Fatalf("x: %+v", f)
	}
	out := Apply(body, []Edit{{Field: cc, Raw: cc.Encode("cp_pan_tok")}})
	if string(out) != strings.Replace(string(body), "4111+1111+1111+1111", "cp_pan_tok", 1) {
		t.Fatalf("form rewrite: %s", out)
	}
	// The rewritten body still parses to the same fields but one.
	v, err := url.ParseQuery(string(out))
	if err != nil || v.Get("payment[cc_number]") != "cp_pan_tok" || v.Get("x") != "a&b" {
		t.Fatalf("reparse: %v %v", v, err)
	}
	if _, err := ScanForm([]byte("a=%zz"), DefaultLimits); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad escape: %v", err)
	}
}

func TestScanMultipart(t *testing.T) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("card_number", "4111111111111111")
	_ = w.WriteField("payment[cc_cid]", "123")
	fw, _ := w.CreateFormFile("receipt", "r.txt")
	_, _ = fw.Write([]byte("4111111111111111 in a file"))
	_ = w.WriteField("note", "hi\r\nthere")
	_ = w.Close()
	body := buf.Bytes()
	fs, err := ScanMultipart(body, w.Boundary(), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 4 {
		t.Fatalf("want 3 text fields and 1 file, got %d", len(fs))
	}
	if f := find(fs, "receipt"); f == nil || f.Kind != File || f.FileName != "r.txt" || f.Value != "4111111111111111 in a file" {
		t.Fatalf("file part: %+v", f)
	}
	cn := find(fs, "card_number")
	if cn == nil || cn.Value != "4111111111111111" {
		t.Fatalf("card_number: %+v", cn)
	}
	if f := find(fs, "payment.cc_cid"); f == nil || f.Value != "123" {
		t.Fatalf("cc_cid: %+v", f)
	}
	if f := find(fs, "note"); f == nil || f.Value != "hi\r\nthere" {
		t.Fatalf("note: %+v", f)
	}
	out := Apply(body, []Edit{{Field: cn, Raw: cn.Encode("cp_pan_tok")}})
	r := multipart.NewReader(bytes.NewReader(out), w.Boundary())
	got := map[string]string{}
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		b := new(bytes.Buffer)
		_, _ = b.ReadFrom(p)
		got[p.FormName()] = b.String()
	}
	want := map[string]string{"card_number": "cp_pan_tok", "payment[cc_cid]": "123", "receipt": "4111111111111111 in a file", "note": "hi\r\nthere"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("reparsed multipart: %v", got)
	}
	if _, err := ScanMultipart([]byte("--x\r\nContent-Disposition: form-data; name=a\r\n\r\nv"), "x", DefaultLimits); !errors.Is(err, ErrMalformed) {
		t.Errorf("unterminated: %v", err)
	}
	b64 := "--x\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: base64\r\n\r\nNDExMQ==\r\n--x--\r\n"
	if _, err := ScanMultipart([]byte(b64), "x", DefaultLimits); !errors.Is(err, ErrUnsupported) {
		t.Errorf("base64 part: %v", err)
	}
}

func TestSplitNameAndPattern(t *testing.T) {
	cases := map[string][]string{
		"card_number":              {"card_number"},
		"payment[cc_number]":       {"payment", "cc_number"},
		"payment.cc_number":        {"payment", "cc_number"},
		"cards[0][number]":         {"cards", "0", "number"},
		"gateway_info.card_number": {"gateway_info", "card_number"},
		"a[]":                      {"a", ""},
		"a[b":                      {"a[b"},
	}
	for in, want := range cases {
		if got := SplitName(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitName(%q) = %q want %q", in, got, want)
		}
	}
	p := ParsePattern("cards.*.number")
	if !p.Match([]string{"cards", "3", "number"}) || p.Match([]string{"cards", "number"}) {
		t.Error("wildcard")
	}
	a := ParsePattern("**.cvc")
	if !a.Match([]string{"cvc"}) || !a.Match([]string{"x", "y", "cvc"}) || a.Match([]string{"cvc", "x"}) {
		t.Error("any-root")
	}
	if ParsePattern("payment[cc_number]").String() != "payment.cc_number" {
		t.Error("String")
	}
}

// Multipart that some app parser reads differently from cardproxy is refused,
// never half-understood.
func TestScanMultipartRefusesNonCanonical(t *testing.T) {
	ok := "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--\r\n"
	if fs, err := ScanMultipart([]byte(ok), "b", DefaultLimits); err != nil || len(fs) != 1 || fs[0].Value != "v" {
		t.Fatalf("canonical body: %v %+v", err, fs)
	}
	for name, body := range map[string]string{
		"preamble":             "junk\r\n" + ok,
		"LF preamble":          "\n" + ok,
		"LF-only":              strings.ReplaceAll(ok, "\r\n", "\n"),
		"LF between parts":     "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\n--b\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nw\r\n--b--\r\n",
		"unquoted name":        "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b--\r\n",
		"junk param":           "--b\r\nContent-Disposition: form-data; x; name=\"a\"\r\n\r\nv\r\n--b--\r\n",
		"name*":                "--b\r\nContent-Disposition: form-data; name*=UTF-8''a\r\n\r\nv\r\n--b--\r\n",
		"two names":            "--b\r\nContent-Disposition: form-data; name=\"a\"; name=\"c\"\r\n\r\nv\r\n--b--\r\n",
		"backslash":            "--b\r\nContent-Disposition: form-data; name=\"a\\\"\"\r\n\r\nv\r\n--b--\r\n",
		"padding":              "--b \r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b--\r\n",
		"folded header":        "--b\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nv\r\n--b--\r\n",
		"extra header":         "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-A: 1\r\n\r\nv\r\n--b--\r\n",
		"two dispositions":     "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"c\"\r\n\r\nv\r\n--b--\r\n",
		"type on a value":      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset=utf-16\r\n\r\nv\r\n--b--\r\n",
		"boundary in a part":   "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\n--b\nContent-Disposition: form-data; name=\"c\"\n\nv\r\n--b--\r\n",
		"epilogue":             ok + "tail",
		"not closed":           "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--b\r\n",
		"no closing dash":      "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv",
		"attachment":           "--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--b--\r\n",
		"mixed-case form-data": "--b\r\nContent-Disposition: Form-Data; name=\"a\"\r\n\r\nv\r\n--b--\r\n",
	} {
		if _, err := ScanMultipart([]byte(body), "b", DefaultLimits); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: want ErrMalformed, got %v", name, err)
		}
	}
	for _, b := range []string{"", "a b", "a\"b", strings.Repeat("x", 71)} {
		if _, err := ScanMultipart([]byte(ok), b, DefaultLimits); !errors.Is(err, ErrMalformed) {
			t.Errorf("boundary %q: want ErrMalformed, got %v", b, err)
		}
	}
	var many strings.Builder
	for i := 0; i <= DefaultLimits.MaxFields; i++ {
		many.WriteString("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n")
	}
	many.WriteString("--b--\r\n")
	if _, err := ScanMultipart([]byte(many.String()), "b", DefaultLimits); !errors.Is(err, ErrLimit) {
		t.Errorf("too many parts: %v", err)
	}
}

func TestFormPHPNames(t *testing.T) {
	fs, err := ScanForm([]byte("card.number=1&card+cvc=2&card[num=3&a[b]=4& x=5"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"card_number"}, {"card_cvc"}, {"card_num"}, nil, {"x"}}
	for i, f := range fs {
		if !reflect.DeepEqual(f.Alt, want[i]) {
			t.Errorf("field %d %q: Alt = %q, want %q", i, f.Name(), f.Alt, want[i])
		}
	}
	if !ParsePattern("card_number").Match([]string{"CARD_Number"}) || !ParsePattern("security_code").Match([]string{"\u017Fecurity_code"}) {
		t.Error("patterns must match case-insensitively, with Unicode folding, like Go's encoding/json")
	}
}
