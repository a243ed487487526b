package card

// iinRange is a prefix range [lo, hi] over the first len(lo) digits, with the
// PAN lengths the scheme issues.
type iinRange struct {
	lo, hi  string
	minLen  int
	maxLen  int
	brand   Brand
	lengths []int // if set, only these lengths (e.g. Visa 13, 16, 19)
}

// iinTable is searched in order, longest prefix first, so narrow ranges that
// sit inside broad ones win: Bancontact 479658 and Elo inside Visa 4, Discover
// 622126–622925 and Elo 627780 inside UnionPay 62, Elo, Verve and RuPay inside
// Discover 65, LankaPay 357111 inside JCB. Among ranges of the same prefix
// length the first listed wins (UnionPay 62 before GPN 60–63, RuPay 60 before
// GPN 60). Maestro's two-digit ranges are the broad catch-all (GPN's 50, 56, 58 and 60–63
// sit inside them and keep the Maestro name; GPN 1946 is its own).
var iinTable = []iinRange{
	// 6 digits
	{lo: "479658", hi: "479658", minLen: 16, maxLen: 17, brand: Bancontact},
	{lo: "622126", hi: "622925", minLen: 16, maxLen: 19, brand: Discover},
	{lo: "401178", hi: "401178", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "401179", hi: "401179", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "431274", hi: "431274", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "438935", hi: "438935", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "451416", hi: "451416", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "457393", hi: "457393", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "457631", hi: "457631", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "457632", hi: "457632", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "504175", hi: "504175", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "506699", hi: "506778", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "509000", hi: "509999", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "627780", hi: "627780", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "636297", hi: "636297", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "636368", hi: "636368", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650031", hi: "650033", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650035", hi: "650051", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650405", hi: "650439", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650485", hi: "650538", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650541", hi: "650598", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650700", hi: "650718", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650720", hi: "650727", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "650901", hi: "650978", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "651652", hi: "651679", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "655000", hi: "655019", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "655021", hi: "655058", minLen: 16, maxLen: 16, brand: Elo},
	{lo: "606282", hi: "606282", minLen: 16, maxLen: 19, brand: Hipercard},
	{lo: "506099", hi: "506198", minLen: 16, maxLen: 19, brand: Verve},
	{lo: "507865", hi: "507964", minLen: 16, maxLen: 19, brand: Verve},
	{lo: "650002", hi: "650027", minLen: 16, maxLen: 19, brand: Verve},
	{lo: "357111", hi: "357111", minLen: 16, maxLen: 16, brand: LankaPay},
	{lo: "676770", hi: "676770", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "676774", hi: "676774", minLen: 12, maxLen: 19, brand: Maestro},
	// 4 digits
	{lo: "6703", hi: "6703", minLen: 16, maxLen: 19, brand: Bancontact},
	{lo: "6011", hi: "6011", minLen: 16, maxLen: 19, brand: Discover},
	{lo: "2221", hi: "2720", minLen: 16, maxLen: 16, brand: Mastercard},
	{lo: "3528", hi: "3589", minLen: 16, maxLen: 19, brand: JCB},
	{lo: "2200", hi: "2204", minLen: 16, maxLen: 19, brand: Mir},
	{lo: "6521", hi: "6522", minLen: 16, maxLen: 16, brand: RuPay},
	{lo: "3841", hi: "3841", minLen: 16, maxLen: 19, brand: Hipercard},
	{lo: "9792", hi: "9792", minLen: 16, maxLen: 16, brand: Troy},
	{lo: "5019", hi: "5019", minLen: 16, maxLen: 16, brand: Dankort},
	{lo: "8600", hi: "8600", minLen: 16, maxLen: 16, brand: UzCard},
	{lo: "9860", hi: "9860", minLen: 16, maxLen: 16, brand: Humo},
	{lo: "1946", hi: "1946", minLen: 16, maxLen: 16, brand: GPN},
	{lo: "6759", hi: "6759", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "5018", hi: "5018", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "5020", hi: "5020", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "5038", hi: "5038", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "5893", hi: "5893", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "6304", hi: "6304", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "6761", hi: "6763", minLen: 12, maxLen: 19, brand: Maestro},
	// 3 digits
	{lo: "644", hi: "649", minLen: 16, maxLen: 19, brand: Discover},
	{lo: "300", hi: "305", minLen: 14, maxLen: 19, brand: Diners},
	{lo: "508", hi: "508", minLen: 16, maxLen: 16, brand: RuPay},
	{lo: "636", hi: "636", minLen: 16, maxLen: 19, brand: InterPayment},
	{lo: "637", hi: "639", minLen: 16, maxLen: 16, brand: InstaPayment},
	// 2 digits
	{lo: "51", hi: "55", minLen: 16, maxLen: 16, brand: Mastercard},
	{lo: "34", hi: "34", minLen: 15, maxLen: 15, brand: Amex},
	{lo: "37", hi: "37", minLen: 15, maxLen: 15, brand: Amex},
	{lo: "65", hi: "65", minLen: 16, maxLen: 19, brand: Discover},
	{lo: "62", hi: "62", minLen: 16, maxLen: 19, brand: UnionPay},
	{lo: "36", hi: "36", minLen: 14, maxLen: 19, brand: Diners},
	{lo: "60", hi: "60", minLen: 16, maxLen: 16, brand: RuPay},
	{lo: "81", hi: "82", minLen: 16, maxLen: 16, brand: RuPay},
	{lo: "94", hi: "94", minLen: 16, maxLen: 16, brand: BCCard}, // Korean domestic BC Card
	{lo: "50", hi: "50", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "56", hi: "69", minLen: 12, maxLen: 19, brand: Maestro},
	// 1 digit
	{lo: "4", hi: "4", brand: Visa, lengths: []int{13, 16, 19}},
	{lo: "1", hi: "1", minLen: 15, maxLen: 15, brand: UATP},
}

// iinIndex lists, for each two-digit start of a PAN, the iinTable entries
// (in table order) that can match it, with lo/hi as numbers and the lengths
// as a bit set, so BrandOf, which Known calls for every Luhn-valid window of
// a scan, does a few integer comparisons.
var iinIndex = func() (idx [100][]iinEntry) {
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			n = n*10 + int(s[i]-'0')
		}
		return n
	}
	for _, r := range iinTable {
		e := iinEntry{n: len(r.lo), lo: num(r.lo), hi: num(r.hi), brand: r.brand}
		for l := r.minLen; l <= r.maxLen; l++ {
			e.lens |= 1 << l
		}
		for _, l := range r.lengths {
			e.lens |= 1 << l
		}
		for q := 0; q < 100; q++ {
			lo, hi := e.lo, e.hi
			switch {
			case e.n == 1:
				lo, hi = lo*10, hi*10+9
			default:
				for k := e.n; k > 2; k-- {
					lo, hi = lo/10, hi/10
				}
			}
			if q >= lo && q <= hi {
				idx[q] = append(idx[q], e)
			}
		}
	}
	return idx
}()

type iinEntry struct {
	n, lo, hi int
	lens      uint32
	brand     Brand
}

// BrandOf returns the scheme of a PAN (digits only) by the longest matching IIN
// prefix whose lengths include len(pan), or Unknown.
func BrandOf(pan string) Brand {
	if len(pan) < 2 || len(pan) > 31 {
		return Unknown
	}
	var prefix [7]int // prefix[k]: the first k digits as a number, -1 past a non-digit
	for k := 1; k <= 6; k++ {
		prefix[k] = -1
		if k <= len(pan) && prefix[k-1] >= 0 && pan[k-1] >= '0' && pan[k-1] <= '9' {
			prefix[k] = prefix[k-1]*10 + int(pan[k-1]-'0')
		}
	}
	if prefix[2] < 0 {
		return Unknown
	}
	for _, e := range iinIndex[prefix[2]] {
		if e.lens&(1<<len(pan)) == 0 {
			continue
		}
		if p := prefix[e.n]; p >= e.lo && p <= e.hi {
			return e.brand
		}
	}
	return Unknown
}

// CVCLen returns the CVC length a brand uses: 4 for Amex, 3 otherwise.
func CVCLen(b Brand) int {
	if b == Amex {
		return 4
	}
	return 3
}
