package card

// The scan over runs of digits: a run is digits with at most seps
// separators between two of them; each run is searched window by window.

// runBuf is how many digits a run buffers before searching the starts that
// have a full MaxLen lookahead. One string per buffer is handed to the
// matcher, so a long run costs one allocation per runBuf-MaxLen digits.
const runBuf = 256

// runScanner holds the digits of the current run.
type runScanner struct {
	match Matcher
	yield func(Hit) bool
	// overlap: report the longest match at every start, also inside an
	// earlier hit (for masking, which masks their union).
	overlap bool
	n       int
	pos     [runBuf][2]int
	val     [runBuf]byte
	// prefix sums for sums/luhn, by position parity
	plain, doubled [runBuf + 1][2]int
}

// sums fills the prefix sums that make each window's Luhn check O(1):
// plain[p] and doubled[p] add up digits before p of each position parity,
// as is and doubled (the Luhn way: 2d, minus 9 above 9).
func (r *runScanner) sums() {
	for p := 0; p < r.n; p++ {
		d := int(r.val[p] - '0')
		dd := 2 * d
		if dd > 9 {
			dd -= 9
		}
		r.plain[p+1], r.doubled[p+1] = r.plain[p], r.doubled[p]
		r.plain[p+1][p&1] += d
		r.doubled[p+1][p&1] += dd
	}
}

// luhn checks the window of n digits at s: its last digit is not doubled,
// so positions of the last digit's parity count plain, the others doubled.
// Every Matcher cardproxy uses accepts only Luhn-valid numbers, so Find
// offers only those.
func (r *runScanner) luhn(s, n int) bool {
	last := (s + n - 1) & 1
	sum := r.plain[s+n][last] - r.plain[s][last] + r.doubled[s+n][last^1] - r.doubled[s][last^1]
	return sum%10 == 0
}

// add appends a digit; false if yield asked to stop.
func (r *runScanner) add(start, end int, v byte) bool {
	if r.n == runBuf && !r.flush(false) {
		return false
	}
	r.pos[r.n] = [2]int{start, end}
	r.val[r.n] = '0' + v
	r.n++
	return true
}

// flush searches the buffered digits: at each start the longest window of
// 12–19 digits that matches wins and the search goes on after it. At the
// end of a run (final) every start is searched; otherwise only the starts
// with MaxLen digits after them, and the rest stays for the next flush.
func (r *runScanner) flush(final bool) bool {
	if r.n < MinLen {
		if final {
			r.n = 0
		}
		return true
	}
	str := string(r.val[:r.n])
	r.sums()
	s := 0
	for s+MinLen <= r.n && (final || s+MaxLen <= r.n) {
		hit := 0
		for n := min(MaxLen, r.n-s); n >= MinLen; n-- {
			if r.luhn(s, n) && r.match(str[s:s+n]) {
				hit = n
				break
			}
		}
		if hit == 0 {
			s++
			continue
		}
		ds := make([][2]int, hit)
		copy(ds, r.pos[s:s+hit])
		h := Hit{Start: ds[0][0], End: ds[hit-1][1], PAN: str[s : s+hit], Digits: ds}
		if !r.yield(h) {
			return false
		}
		if r.overlap {
			s++
		} else {
			s += hit
		}
	}
	if final {
		r.n = 0
		return true
	}
	copy(r.pos[:], r.pos[s:r.n])
	copy(r.val[:], r.val[s:r.n])
	r.n -= s
	return true
}

// scan reads text (decoding escapes or literally) run by run and reports
// whether it decoded any escape.
func scan(text string, decode bool, seps int, overlap bool, match Matcher, yield func(Hit) bool) (escaped bool) {
	r := runScanner{match: match, yield: yield, overlap: overlap}
	tok := func(i int) (int, byte, int) {
		kind, v, end := token(text, i, decode)
		if end > i+1 && text[i] < 0x80 {
			escaped = true
		}
		return kind, v, end
	}
	i := 0
	for i < len(text) {
		for i < len(text) && !startsToken[text[i]] {
			i++
		}
		if i == len(text) {
			break
		}
		kind, v, end := tok(i)
		if kind != tokDigit {
			i = end
			continue
		}
		start := i
		for {
			if !r.add(start, end, v) {
				return escaped
			}
			i = end
			if i == len(text) {
				break
			}
			kind, v, end = tok(i)
			start = i
			// Up to seps separators between two digits ("4111 - 1111").
			for n := 0; kind == tokSep && n < seps && end < len(text); n++ {
				start = end
				kind, v, end = tok(start)
			}
			if kind != tokDigit {
				break
			}
		}
		if !r.flush(true) {
			return escaped
		}
	}
	return escaped
}
