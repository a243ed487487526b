package fieldmap

import (
	"testing"

	"github.com/cardproxy/cardproxy/bodyrewrite"
)

func fields(t *testing.T, enc, body string) []bodyrewrite.Field {
	t.Helper()
	var fs []bodyrewrite.Field
	var err error
	if enc == "json" {
		fs, err = bodyrewrite.ScanJSON([]byte(body), bodyrewrite.DefaultLimits)
	} else {
		fs, err = bodyrewrite.ScanForm([]byte(body), bodyrewrite.DefaultLimits)
	}
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestIngressRoles: a field is a card field under every reading an app may
// give its name (PHP's name mangling, qs's brackets, arrays under a card
// field); card roles win over ignore.
func TestIngressRoles(t *testing.T) {
	rules := Compile(Set{PAN: []string{"card.number", "payment[cc_number]"}, CVC: []string{"cvc"},
		Holder: []string{"holder"}}, []string{"card.number", "ref"})
	for _, tc := range []struct {
		enc, body string
		want      Role
	}{
		{"json", `{"card":{"number":"x"}}`, PAN},
		{"form", "card.number=x", PAN},        // PHP reads card_number… and cardproxy's path card.number
		{"form", "payment[cc_number]=x", PAN}, // qs / PHP brackets
		{"form", "payment.cc_number=x", PAN},
		{"form", "cvc[]=123", CVC}, // an array under a CVC field
		{"form", "holder=x", Holder},
		{"form", "ref=x", Ignore},
		{"form", "other=x", None},
	} {
		fs := fields(t, tc.enc, tc.body)
		if got := rules.Ingress(&fs[len(fs)-1]); got != tc.want {
			t.Errorf("%s: role %d, want %d", tc.body, got, tc.want)
		}
	}
	if !rules.NamesCVC("CVC") || rules.NamesCVC("number") {
		t.Error("NamesCVC")
	}
	if !PAN.Secret() || !CVC.Secret() || Holder.Secret() || !Expiry.Fillable() || Ignore.Fillable() {
		t.Error("role classes")
	}
}

func TestNamedLikeCVC(t *testing.T) {
	for body, want := range map[string]bool{
		`{"card":{"cvv2":"1"}}`: true, `{"Security_Code":"1"}`: true, `{"ſecurity_code":"1"}`: true,
		`{"cvc":["1"]}`: true, `{"cvc_hint":"1"}`: false, `{"code":"1"}`: false,
	} {
		fs := fields(t, "json", body)
		if got := NamedLikeCVC(&fs[len(fs)-1]); got != want {
			t.Errorf("%s: %v", body, got)
		}
	}
}

func TestIs3DSReturn(t *testing.T) {
	for body, want := range map[string]bool{
		"PaRes=abc&MD=4111111111111111": true, "cres=x": true, "threeDSSessionData=1&cres=2": true,
		"MD=1&amount=2": false, "card_number=1": false,
	} {
		if got := Is3DSReturn(fields(t, "form", body)); got != want {
			t.Errorf("%s: %v", body, got)
		}
	}
	if Is3DSReturn(fields(t, "json", `{"MD":"1"}`)) {
		t.Error("a JSON body is no 3-D Secure return")
	}
}

func TestPresets(t *testing.T) {
	for name, p := range Presets {
		rules := Compile(p.Fields, nil)
		if len(p.Fields.PAN) == 0 || len(p.Fields.CVC) == 0 || p.APIKeyHeader == "" {
			t.Errorf("%s: incomplete preset", name)
		}
		for _, n := range p.Fields.PAN {
			if rules.Of(bodyrewrite.SplitName(n)) != PAN {
				t.Errorf("%s: %s is not a PAN field", name, n)
			}
		}
	}
}
