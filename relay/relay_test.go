package relay

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/bodyrewrite"
)

func scan(t *testing.T, body string) []bodyrewrite.Field {
	t.Helper()
	fs, err := bodyrewrite.ScanJSON([]byte(body), bodyrewrite.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFind(t *testing.T) {
	adyen := `{"resultCode":"RedirectShopper","action":{"type":"redirect","method":"POST","url":"https://acs.example/pa",` +
		`"paymentMethodType":"scheme","data":{"PaReq":"eJx","MD":"M1","TermUrl":"https://shop/return"}}}`
	msp := `{"success":true,"data":{"customer_verification":{"type":"form","html":"<form>…</form>"}}}`
	for _, tc := range []struct {
		name, body string
		want       Redirect
		repl       string
	}{
		{"adyen POST", adyen, Redirect{Action: "https://acs.example/pa", Fields: map[string]string{"PaReq": "eJx", "MD": "M1", "TermUrl": "https://shop/return"}},
			`{"method":"GET","paymentMethodType":"scheme","type":"redirect","url":"https://shop/3ds/id"}`},
		{"multisafepay form", msp, Redirect{HTML: "<form>…</form>"}, `{"type":"redirect","url":"https://shop/3ds/id"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := Find(scan(t, tc.body))
			if len(cs) != 1 {
				t.Fatalf("%d candidates", len(cs))
			}
			got := cs[0].Redirect
			if got.Action != tc.want.Action || got.HTML != tc.want.HTML || len(got.Fields) != len(tc.want.Fields) {
				t.Fatalf("redirect %+v", got)
			}
			for k, v := range tc.want.Fields {
				if got.Fields[k] != v {
					t.Errorf("field %s = %q", k, got.Fields[k])
				}
			}
			if r := string(cs[0].Replacement("https://shop/3ds/id")); r != tc.repl {
				t.Errorf("replacement %s", r)
			}
		})
	}
	// GET redirects carry no card data: nothing to relay.
	for _, body := range []string{
		`{"action":{"type":"redirect","method":"GET","url":"https://acs.example/x"}}`,
		`{"data":{"payment_url":"https://pay.example/x"}}`,
		`{"data":{"customer_verification":{"type":"link","html":"x"}}}`,
	} {
		if cs := Find(scan(t, body)); len(cs) != 0 {
			t.Errorf("%s: %d candidates", body, len(cs))
		}
	}
}

func TestPage(t *testing.T) {
	w := httptest.NewRecorder()
	if err := Page(w, Redirect{Action: "https://acs.example/pa", Fields: map[string]string{"PaReq": `a"><script>x</script>`}}); err != nil {
		t.Fatal(err)
	}
	csp := w.Header().Get("Content-Security-Policy")
	body := w.Body.String()
	if !strings.Contains(csp, "script-src 'nonce-") || !strings.Contains(body, `action="https://acs.example/pa"`) ||
		strings.Contains(body, "<script>x</script>") {
		t.Errorf("form page: CSP %q\n%s", csp, body)
	}
	w = httptest.NewRecorder()
	_ = Page(w, Redirect{HTML: "<html>psp</html>"})
	if w.Body.String() != "<html>psp</html>" || !strings.HasPrefix(w.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("PSP page: %q %q", w.Header().Get("Content-Security-Policy"), w.Body)
	}
	w = httptest.NewRecorder()
	_ = Page(w, Redirect{Action: "javascript:alert(1)"})
	if w.Code != 502 {
		t.Errorf("javascript: action: %d", w.Code)
	}
	id, err := NewID()
	if err != nil || !IsID(id) || IsID(id+"x") {
		t.Errorf("id %q", id)
	}
}
