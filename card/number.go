package card

// maxJSONExp bounds the exponent FromJSONNumber accepts, so a literal like
// 1e999999999 costs nothing.
const maxJSONExp = 40

// FromJSONNumber returns the ASCII digits of a JSON number literal that
// denotes a non-negative integer of 12–19 digits, however it is written:
// 4111111111111111, 4.111111111111111e15, 4111111111111111.000,
// 41111111111111110e-1, 0.4111111111111111E16. A decoder that reads such a
// number into a float64 loses digits; this works on the decimal string.
// Anything else, including literals that are not valid JSON and exponents
// beyond ±40, is not ok.
func FromJSONNumber(lit string) (digits string, ok bool) {
	i := 0
	n := len(lit)
	intStart := i
	for i < n && lit[i] >= '0' && lit[i] <= '9' {
		i++
	}
	intPart := lit[intStart:i]
	if intPart == "" || len(intPart) > 1 && intPart[0] == '0' {
		return "", false // also a leading '-' or '+'
	}
	var frac string
	if i < n && lit[i] == '.' {
		i++
		s := i
		for i < n && lit[i] >= '0' && lit[i] <= '9' {
			i++
		}
		if i == s {
			return "", false
		}
		frac = lit[s:i]
	}
	exp := 0
	if i < n && (lit[i] == 'e' || lit[i] == 'E') {
		i++
		neg := false
		if i < n && (lit[i] == '+' || lit[i] == '-') {
			neg = lit[i] == '-'
			i++
		}
		s := i
		for i < n && lit[i] >= '0' && lit[i] <= '9' {
			if exp = exp*10 + int(lit[i]-'0'); exp > maxJSONExp {
				return "", false
			}
			i++
		}
		if i == s {
			return "", false
		}
		if neg {
			exp = -exp
		}
	}
	if i != n {
		return "", false
	}
	// The mantissa's digits are intPart+frac; the decimal point sits after
	// point of them. Leading zeros go (moving the point), then every digit
	// not zero must sit before the point.
	point := len(intPart) + exp
	lead := 0
	for lead < len(intPart)+len(frac) && mantissaDigit(intPart, frac, lead) == '0' {
		lead++
	}
	point -= lead
	total := len(intPart) + len(frac) - lead
	if total == 0 || point < MinLen || point > MaxLen {
		return "", false
	}
	for k := point; k < total; k++ {
		if mantissaDigit(intPart, frac, lead+k) != '0' {
			return "", false
		}
	}
	var buf [MaxLen]byte
	for k := 0; k < point; k++ {
		buf[k] = '0'
		if k < total {
			buf[k] = mantissaDigit(intPart, frac, lead+k)
		}
	}
	return string(buf[:point]), true
}

func mantissaDigit(intPart, frac string, k int) byte {
	if k < len(intPart) {
		return intPart[k]
	}
	return frac[k-len(intPart)]
}
