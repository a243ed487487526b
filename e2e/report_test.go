package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cardproxy/cardproxy/scopereport"
)

// The PCI scope report of two real checkouts, built from the demo's audit
// trail and opened in headless Chromium: the figures on the page are this
// run's, the page holds no card data, and a screenshot goes to the
// artifacts (scope-report.png).
func TestBrowserScopeReport(t *testing.T) {
	d := startDemo(t)
	ctx, cancel := browser(t)
	defer cancel()
	for _, c := range []string{"4761 3400 0000 0019", "4761 3400 0000 0019"} { // pay() passes a 3-D Secure challenge
		if title, _ := pay(t, ctx, d.shopURL, c, "report-checkout.png"); title != "Payment complete" {
			t.Fatalf("checkout with %s…: %q", c[:4], title)
		}
	}
	f, err := os.Open(d.auditLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := scopereport.Build(f, time.Time{}, time.Time{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Configuration, err = scopereport.ConfigFromJSON(d.config); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "scope-report.html")
	h, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := scopereport.WriteHTML(h, r); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitVisible(chromedp.ID("dataflow"))); err != nil {
		t.Fatal(err)
	}
	figure := func(id string) int {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			t.Fatalf("#%s shows %q", id, s)
		}
		return n
	}
	// Two checkouts: two requests tokenized, two CVCs used, nothing with card
	// data forwarded; the admin API is off in Caddyfile.example.
	for id, want := range map[string]int{"tokenize_requests": 2, "pan_tokens": 2, "cvcs_used": 2, "card_data_forwarded_to_app": 0} {
		if got := figure(id); got != want {
			t.Errorf("#%s shows %d, want %d", id, got, want)
		}
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Merchant app") || !strings.Contains(text, "3.3.1.2") || !strings.Contains(text, "held by the app") && !strings.Contains(text, "injected by cardproxy") {
		t.Errorf("the page lacks the data flow, the controls or the configuration")
	}
	for _, s := range []string{"4761340000000019", "4761 3400", "4111111111111111", "4111 1111", "cp_pan_", "cp_cvc_"} {
		if strings.Contains(text, s) {
			t.Errorf("the report page shows %q", s)
		}
	}
	screenshot(t, ctx, "scope-report.png")
}
