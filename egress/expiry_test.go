package egress

import (
	"testing"
	"time"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		m, y int
		ok   bool
	}{
		{"12/30", 12, 2030, true},
		{"07/2029", 7, 2029, true},
		{"1-31", 1, 2031, true},
		{"03 28", 3, 2028, true},
		{"1230", 12, 2030, true}, // MMYY (as typed)
		{"3012", 12, 2030, true}, // YYMM (MultiSafepay)
		{"2612", 12, 2026, true}, // YYMM, this year
		{"1126", 11, 2026, true}, // MMYY, this month
		{"0112", 1, 2012, true},  // both readings past: MMYY, for the PSP to decline
		{"13/30", 0, 0, false},
		{"ab/cd", 0, 0, false},
		{"123", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, c := range cases {
		m, y, ok := parseExpiry(c.in, now)
		if m != c.m || y != c.y || ok != c.ok {
			t.Errorf("parseExpiry(%q) = %d/%d %v, want %d/%d %v", c.in, m, y, ok, c.m, c.y, c.ok)
		}
	}
}
