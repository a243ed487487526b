// Package bodyrewrite finds the values of JSON, URL-encoded form and multipart
// bodies together with their exact byte ranges, and replaces chosen values in
// place. Every byte that is not a replaced value stays as it was: key order,
// whitespace, escaping, other fields, part headers, file uploads. That keeps
// signatures valid and apps unsurprised.
package bodyrewrite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/cardproxy/cardproxy/card"
)

// Kind is the syntactic kind of a value.
type Kind int

// Value kinds.
const (
	String Kind = iota // JSON string, form value, multipart text part
	Number             // JSON number
	Other              // JSON true/false/null: found but never replaced
	Object             // a whole JSON object or array (its leaves are listed too)
	File               // a multipart upload: Value is its content, never replaced
)

// Encoding is the body format a Field came from.
type Encoding int

// Body formats.
const (
	JSON Encoding = iota
	Form
	Multipart
)

// Field is one leaf value of a body.
type Field struct {
	// Path is the value's location: JSON object keys and array indexes (as
	// decimal strings); form and multipart names split at brackets, so
	// payment[cc_number] is ["payment", "cc_number"].
	Path []string
	// Alt is how PHP reads a form or multipart name, where that differs
	// from Path ("card.number" is card_number in $_POST).
	Alt []string
	// QS is how Node's qs reads the name, where that differs again
	// ("[card_number]" is card_number in req.body).
	QS       []string
	FileName string // File fields: the upload's file name
	Value    string // decoded value
	Kind     Kind
	Enc      Encoding

	start, end int // raw value bytes in the body
	// bare: a form pair without '=' ("a&b"), whose empty value is at the
	// end of its name: a replacement goes in after an '=' Apply adds.
	bare bool
}

// Readings are the paths app parsers may give the field: cardproxy's, PHP's
// and qs's.
func (f *Field) Readings() [][]string {
	out := [][]string{f.Path}
	if f.Alt != nil {
		out = append(out, f.Alt)
	}
	if f.QS != nil {
		out = append(out, f.QS)
	}
	return out
}

// Name is the path joined with dots, for logs and errors.
func (f *Field) Name() string { return strings.Join(f.Path, ".") }

// Parent is the path of the enclosing object (all but the last segment).
func (f *Field) Parent() string {
	if len(f.Path) <= 1 {
		return ""
	}
	return strings.Join(f.Path[:len(f.Path)-1], ".")
}

// Encode returns the raw bytes that put value in this field's place: a JSON
// string (or a bare number when the field was a number and value is all
// digits), a percent-encoded form value, or raw multipart content.
func (f *Field) Encode(value string) []byte {
	switch f.Enc {
	case JSON:
		if f.Kind == Number && jsonInteger(value) {
			return []byte(value)
		}
		b, _ := json.Marshal(value)
		return b
	case Form:
		return []byte(url.QueryEscape(value))
	default:
		return []byte(value)
	}
}

// jsonInteger: digits that can be written as a JSON number as they are (no
// leading zero).
func jsonInteger(s string) bool {
	return card.Digits(s) && (len(s) == 1 || s[0] != '0')
}

// Edit replaces one field's raw value with Raw.
type Edit struct {
	Field *Field
	Raw   []byte
}

// Apply returns body with the edits applied. Edits must name fields scanned
// from this body; overlapping edits are not allowed (scanned leaf fields never
// overlap).
func Apply(body []byte, edits []Edit) []byte {
	if len(edits) == 0 {
		return body
	}
	sorted := append([]Edit(nil), edits...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Field.start < sorted[j].Field.start })
	grow := 0
	for _, e := range sorted {
		grow += len(e.Raw) - (e.Field.end - e.Field.start)
		if e.Field.bare {
			grow++
		}
	}
	var out bytes.Buffer
	out.Grow(len(body) + max(grow, 0))
	pos := 0
	for _, e := range sorted {
		out.Write(body[pos:e.Field.start])
		if e.Field.bare {
			out.WriteByte('=')
		}
		out.Write(e.Raw)
		pos = e.Field.end
	}
	out.Write(body[pos:])
	return out.Bytes()
}

// SplitName splits a form field name or a configured field pattern into path
// segments: "payment[cc_number]" and "payment.cc_number" both give
// ["payment", "cc_number"]; "cards[0][number]" gives ["cards", "0", "number"].
func SplitName(name string) []string {
	var out []string
	cur := strings.Builder{}
	flush := func() {
		out = append(out, cur.String())
		cur.Reset()
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '[':
			j := strings.IndexByte(name[i+1:], ']')
			if j < 0 { // unbalanced: the rest is literal
				cur.WriteString(name[i:])
				i = len(name)
				continue
			}
			if cur.Len() > 0 || len(out) == 0 {
				flush()
			}
			out = append(out, name[i+1:i+1+j])
			i += j + 1
		case '.':
			if cur.Len() > 0 || (i > 0 && name[i-1] != ']') {
				flush()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 || len(out) == 0 {
		flush()
	}
	return out
}

// Pattern matches field paths. Segments compare exactly; "*" matches any one
// segment (an object key or an array index); a leading "**" matches any
// number of leading segments, so "**.card_number" finds card_number anywhere.
type Pattern struct {
	segs    []string
	anyRoot bool
}

// ParsePattern parses "gateway_info.card_number", "payment[cc_number]",
// "cards.*.number" or "**.cvc".
func ParsePattern(s string) Pattern {
	segs := SplitName(s)
	p := Pattern{segs: segs}
	if len(segs) > 1 && segs[0] == "**" {
		p.anyRoot = true
		p.segs = segs[1:]
	}
	return p
}

// Match reports whether path matches the pattern. Segments compare with
// Unicode case folding, as Go's encoding/json matches keys ("CARD_NUMBER"
// and "card_nuMber" are card_number to a Go app): a field some app parser
// reads as a card field is treated as one.
func (p Pattern) Match(path []string) bool {
	if p.anyRoot {
		if len(path) < len(p.segs) {
			return false
		}
		path = path[len(path)-len(p.segs):]
	}
	if len(path) != len(p.segs) {
		return false
	}
	for i, s := range p.segs {
		if s != "*" && !strings.EqualFold(s, path[i]) {
			return false
		}
	}
	return true
}

// Last is the pattern's last segment.
func (p Pattern) Last() string {
	if len(p.segs) == 0 {
		return ""
	}
	return p.segs[len(p.segs)-1]
}

// String gives the pattern back in dotted form.
func (p Pattern) String() string {
	s := strings.Join(p.segs, ".")
	if p.anyRoot {
		return "**." + s
	}
	return s
}

// Span returns the field's byte range in the body it was scanned from.
func (f *Field) Span() (start, end int) { return f.start, f.end }

// Format prints a field without its value (which may be card data): its
// name, kind and byte range, whatever the verb.
func (f Field) Format(s fmt.State, _ rune) {
	fmt.Fprintf(s, "field %q (kind %d, bytes %d–%d)", f.Name(), f.Kind, f.start, f.end)
}
