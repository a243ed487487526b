package demoshop

import "testing"

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int{"25": 2500, "25.5": 2550, "25.00": 2500, "0.99": 99, " 10,50 ": 1050} {
		if got, err := parseAmount(in); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "-5", "0", "1.234", "1e3"} {
		if _, err := parseAmount(in); err == nil {
			t.Errorf("parseAmount(%q) accepted", in)
		}
	}
}
