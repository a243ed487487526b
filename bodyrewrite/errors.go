package bodyrewrite

import "errors"

// ErrUnsupported marks bodies that are well-formed but use an encoding
// cardproxy cannot inspect.
var ErrUnsupported = errors.New("unsupported encoding")
