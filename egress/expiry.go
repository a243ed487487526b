package egress

import (
	"strconv"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/bodyrewrite"
)

// parseExpiry reads an expiry as shoppers and PSP bodies write it: "MM/YY",
// "MM/YYYY", "MM-YY", "MM YY", "MM/YY" with spaces, and four bare digits. Four
// bare digits are MMYY or YYMM (MultiSafepay); the reading that is a valid,
// not yet expired date wins (for the next decades exactly one can be).
func parseExpiry(s string, now time.Time) (month, year int, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, false
	}
	if i := strings.IndexAny(s, "/- "); i > 0 {
		m, err1 := strconv.Atoi(strings.TrimSpace(s[:i]))
		y, err2 := strconv.Atoi(strings.TrimSpace(s[i+1:]))
		if err1 != nil || err2 != nil || m < 1 || m > 12 {
			return 0, 0, false
		}
		if y < 100 {
			y += 2000
		}
		return m, y, y >= 2000 && y < 2100
	}
	if len(s) != 4 {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(s[:2])
	b, err2 := strconv.Atoi(s[2:])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	future := func(m, y int) bool {
		return m >= 1 && m <= 12 && (y > now.Year() || y == now.Year() && m >= int(now.Month()))
	}
	switch {
	case future(a, 2000+b): // MMYY
		return a, 2000 + b, true
	case future(b, 2000+a): // YYMM
		return b, 2000 + a, true
	case a >= 1 && a <= 12: // both past: keep MMYY so the PSP can decline it
		return a, 2000 + b, true
	}
	return 0, 0, false
}

// encodeExpiry writes an expiry for a single-field expiry: "yymm" → 2812
// (kept a JSON number if the field was one; Field.Encode decides), else "MM/YY".
func encodeExpiry(f *bodyrewrite.Field, format string, m, y int) []byte {
	if format == "yymm" {
		return f.Encode(pad2(y%100) + pad2(m))
	}
	return f.Encode(pad2(m) + "/" + pad2(y%100))
}

// encodeInt writes a month or year: a JSON number stays a number (6, 2029),
// a string is zero-padded ("06").
func encodeInt(f *bodyrewrite.Field, v int) []byte {
	if f.Kind == bodyrewrite.Number {
		return f.Encode(strconv.Itoa(v))
	}
	return f.Encode(pad2(v))
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
