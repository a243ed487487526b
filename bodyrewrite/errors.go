package bodyrewrite

import "errors"

// ErrUnsupported marks bodies that are well-formed but use an encoding
// cardproxy cannot inspect.
var ErrUnsupported = errors.New("unsupported encoding")

// ErrMalformed is returned for bodies that do not parse, or that a lenient
// parser could read differently than cardproxy; the message says where,
// never what the value was.
var ErrMalformed = errors.New("malformed body")

// ErrLimit marks bodies over a Limits bound (too deep, too many values).
var ErrLimit = errors.New("body exceeds a limit")

// Limits bound the work one body may cause: scanning stays linear in the
// body and memory a small multiple of it.
type Limits struct {
	// MaxDepth bounds JSON nesting and bracket segments in form names.
	MaxDepth int
	// MaxFields bounds the number of values (JSON leaves, objects and
	// arrays, form pairs, multipart parts).
	MaxFields int
}

// DefaultLimits suit checkout requests.
var DefaultLimits = Limits{MaxDepth: 32, MaxFields: 1000}

func (l Limits) orDefault() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultLimits.MaxFields
	}
	return l
}
