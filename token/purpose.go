package token

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Purpose is what a PAN token may be used for: the upstream hosts whose
// card_detokenize may turn it back into a card (card_tokenize's
// bind_upstream). The zero Purpose binds nothing: any egress of the token's
// tenant may use it. It is stored sealed with the card, and dedupe keeps
// purposes apart: the same card tokenized for two purposes is two tokens.
type Purpose string

// ErrNotAllowed: the token exists but is bound to other upstreams.
var ErrNotAllowed = errors.New("token not allowed for this upstream")

var hostPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$`)

// NewPurpose is the purpose binding tokens to these upstream hosts (host or
// host:port, as in the egress's upstream URL), in a canonical form: lower
// case, sorted, without repeats.
func NewPurpose(hosts []string) (Purpose, error) {
	var hs []string
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if !hostPattern.MatchString(h) {
			return "", fmt.Errorf("bind_upstream: %q is not a host name (host or host:port of the egress upstream)", h)
		}
		hs = append(hs, h)
	}
	slices.Sort(hs)
	return Purpose(strings.Join(slices.Compact(hs), ",")), nil
}

// Allows reports whether an egress whose upstream is host may use a token
// of this purpose.
func (p Purpose) Allows(host string) bool {
	return p == "" || slices.Contains(strings.Split(string(p), ","), strings.ToLower(host))
}
