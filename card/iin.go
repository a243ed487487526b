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

// iinTable is searched longest prefix first, so narrow ranges that sit inside
// broad ones win: Bancontact 479658 inside Visa 4, Discover 622126–622925 inside
// UnionPay 62, Maestro as the broad catch-all.
var iinTable = []iinRange{
	// 6 digits
	{lo: "479658", hi: "479658", minLen: 16, maxLen: 17, brand: Bancontact},
	{lo: "622126", hi: "622925", minLen: 16, maxLen: 19, brand: Discover},
	// 4 digits
	{lo: "6703", hi: "6703", minLen: 16, maxLen: 19, brand: Bancontact},
	{lo: "6011", hi: "6011", minLen: 16, maxLen: 19, brand: Discover},
	{lo: "2221", hi: "2720", minLen: 16, maxLen: 16, brand: Mastercard},
	{lo: "3528", hi: "3589", minLen: 16, maxLen: 19, brand: JCB},
	// 3 digits
	{lo: "644", hi: "649", minLen: 16, maxLen: 19, brand: Discover},
	{lo: "300", hi: "305", minLen: 14, maxLen: 19, brand: Diners},
	// 2 digits
	{lo: "51", hi: "55", minLen: 16, maxLen: 16, brand: Mastercard},
	{lo: "34", hi: "34", minLen: 15, maxLen: 15, brand: Amex},
	{lo: "37", hi: "37", minLen: 15, maxLen: 15, brand: Amex},
	{lo: "65", hi: "65", minLen: 16, maxLen: 19, brand: Discover},
	{lo: "62", hi: "62", minLen: 16, maxLen: 19, brand: UnionPay},
	{lo: "36", hi: "36", minLen: 14, maxLen: 19, brand: Diners},
	{lo: "50", hi: "50", minLen: 12, maxLen: 19, brand: Maestro},
	{lo: "56", hi: "69", minLen: 12, maxLen: 19, brand: Maestro},
	// 1 digit
	{lo: "4", hi: "4", brand: Visa, lengths: []int{13, 16, 19}},
}

// BrandOf returns the scheme of a PAN (digits only) by the longest matching IIN
// prefix whose lengths include len(pan), or Unknown.
func BrandOf(pan string) Brand {
	for _, r := range iinTable {
		n := len(r.lo)
		if len(pan) < n {
			continue
		}
		p := pan[:n]
		if p < r.lo || p > r.hi {
			continue
		}
		if r.lengths != nil {
			for _, l := range r.lengths {
				if l == len(pan) {
					return r.brand
				}
			}
			continue
		}
		if len(pan) >= r.minLen && len(pan) <= r.maxLen {
			return r.brand
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
