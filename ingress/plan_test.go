package ingress

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
)

// These tests run the ingress core without Vault: Check (scan and plan) on
// a request, then Apply with tokens made up here, as Exchange would return
// them from the vault.

func testConfig(mut func(*Config)) *Config {
	c := &Config{
		Rules: fieldmap.Compile(fieldmap.Set{PAN: []string{"card_number", "gateway_info.card_number"},
			CVC: []string{"cvc", "gateway_info.card_cvc"}, Expiry: []string{"gateway_info.card_expiry_date"},
			Holder: []string{"gateway_info.card_holder_name"}}, []string{"order_ref"}),
		Auto: true, Format: token.FormatOpaque, MaxBody: 1 << 20, MaxCards: 5, MaxCVCs: 5,
		Preserving: func() bool { return false },
	}
	if mut != nil {
		mut(c)
	}
	return c
}

func request(ct, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

const (
	visa = "4111111111111111"
	mc   = "5555555555554444"
)

// fakeTokens are tokens shaped like the vault's, one per card and CVC.
func fakeTokens(p *Plan) Tokens {
	t := Tokens{}
	for i := range p.Cards {
		t.Cards = append(t.Cards, token.Issued{Token: token.PANPrefix + strings.Repeat(string(rune('A'+i)), 24),
			Meta: card.MetaOf(p.Cards[i].Card.PAN)})
	}
	for i := range p.CVCs {
		t.CVCs = append(t.CVCs, token.CVCPrefix+strings.Repeat(string(rune('a'+i)), 24))
	}
	return t
}

func TestPlanAndApply(t *testing.T) {
	for _, c := range []struct {
		name, ct, body string
		mut            func(*Config)
		cards          []card.Card // what the plan sends to the vault
		cvcs           []string
		formats        []token.Format
		want           string // the body the app gets ("" = unchanged)
	}{
		{name: "msp order", ct: "application/json",
			body:  `{"gateway_info":{"card_number":"4111 1111 1111 1111","card_cvc":"123","card_expiry_date":"3012","card_holder_name":"A B"}}`,
			cards: []card.Card{{PAN: visa, Expiry: "3012", Holder: "A B"}}, cvcs: []string{"123"},
			want: `{"gateway_info":{"card_number":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA","card_cvc":"cp_cvc_aaaaaaaaaaaaaaaaaaaaaaaa","card_expiry_date":"3012","card_holder_name":"A B"}}`},
		{name: "same card twice is one card", ct: "application/json",
			body:  `{"card_number":"` + visa + `","copy":"` + visa + `"}`,
			cards: []card.Card{{PAN: visa}},
			want:  `{"card_number":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA","copy":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}`},
		{name: "auto-detect and a JSON number", ct: "application/json",
			body:  `{"x":{"pan":` + mc + `},"cvv":"9876"}`,
			cards: []card.Card{{PAN: mc}}, cvcs: []string{"9876"},
			want: `{"x":{"pan":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"},"cvv":"cp_cvc_aaaaaaaaaaaaaaaaaaaaaaaa"}`},
		{name: "form, per-field format", ct: "application/x-www-form-urlencoded",
			body: "card_number=" + visa + "&legacy=" + mc,
			mut: func(c *Config) {
				c.FieldFormats = []FieldFormat{{Pattern: bodyrewrite.ParsePattern("legacy"), Format: token.FormatPreserveLast4}}
			},
			cards:   []card.Card{{PAN: visa}, {PAN: mc}},
			formats: []token.Format{token.FormatOpaque, token.FormatPreserveLast4},
			want:    "card_number=cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA&legacy=cp_pan_BBBBBBBBBBBBBBBBBBBBBBBB"},
		{name: "no card data", ct: "application/json", body: `{"amount":1000,"order_ref":"4111111111111111"}`},
		{name: "text without card data", ct: "text/plain", body: "hello"},
		{name: "3-D Secure return passes as sent", ct: "application/x-www-form-urlencoded", body: "MD=" + visa + "&PaRes=abc"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := request(c.ct, c.body)
			q, rerr := testConfig(c.mut).Check(r)
			if rerr != nil {
				t.Fatalf("refused: %v", rerr)
			}
			var got []card.Card
			var formats []token.Format
			for _, g := range q.Plan.Cards {
				got = append(got, g.Card)
				formats = append(formats, g.Format)
			}
			var cvcs []string
			for _, g := range q.Plan.CVCs {
				cvcs = append(cvcs, g.CVC)
			}
			if !slices.Equal(got, c.cards) || !slices.Equal(cvcs, c.cvcs) {
				t.Fatalf("plan: cards %d %v, cvcs %v", len(got), got, cvcs)
			}
			if c.formats != nil && !slices.Equal(formats, c.formats) {
				t.Errorf("formats %v", formats)
			}
			if !q.Plan.Empty() {
				if rerr := q.Apply(fakeTokens(q.Plan)); rerr != nil {
					t.Fatalf("apply: %v", rerr)
				}
			}
			b, _ := io.ReadAll(r.Body)
			want := c.want
			if want == "" {
				want = c.body
			}
			if string(b) != want {
				t.Errorf("app gets\n%s\nwant\n%s", b, want)
			}
			if r.ContentLength != int64(len(want)) {
				t.Errorf("Content-Length %d", r.ContentLength)
			}
		})
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, c := range []struct {
		name, ct, body string
		mut            func(*Config)
		want           refusal.Code
	}{
		{"not a card number", "application/json", `{"card_number":"4111111111111112"}`, nil, refusal.InvalidCardNumber},
		{"not a CVC", "application/json", `{"cvc":"12a"}`, nil, refusal.InvalidCVC},
		{"card in free text", "application/json", `{"note":"my card 4111 1111 1111 1111"}`, nil, refusal.CardNumberInText},
		{"token from a shopper", "application/json", `{"x":"cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA"}`, nil, refusal.TokenNotAllowed},
		{"card in a key", "application/json", `{"4111111111111111":"x"}`, nil, refusal.CardDataInFieldName},
		{"too many cards", "application/json", `{"a":"4111111111111111","b":"5555555555554444"}`,
			func(c *Config) { c.MaxCards = 1 }, refusal.TooManyCards},
		{"auto-detect off", "application/json", `{"other":"4111111111111111"}`,
			func(c *Config) { c.Auto = false }, refusal.CardNumberInText},
		{"unparsed body with a card", "text/plain", "pan 4111111111111111", nil, refusal.CardDataInUnparsedBody},
		{"two media types", "application/json, text/plain", `{}`, nil, refusal.AmbiguousContentType},
		{"UTF-16", "application/json; charset=utf-16", `{}`, nil, refusal.UnsupportedCharset},
		{"broken JSON", "application/json", `{"card_number":`, nil, refusal.MalformedBody},
		{"too large", "application/json", `{"a":"` + strings.Repeat("x", 100) + `"}`,
			func(c *Config) { c.MaxBody = 50 }, refusal.BodyTooLarge},
		{"preserving shape in use", "application/json", `{"x":"0412345678901234"}`,
			func(c *Config) { c.Preserving = func() bool { return true } }, refusal.TokenNotAllowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, rerr := testConfig(c.mut).Check(request(c.ct, c.body))
			if rerr == nil || rerr.Code != c.want {
				t.Fatalf("got %v, want %s", rerr, c.want)
			}
			if strings.Contains(rerr.Message, visa) {
				t.Errorf("message carries the card: %s", rerr.Message)
			}
		})
	}
}

func TestCheckRequestParts(t *testing.T) {
	c := testConfig(nil)
	for _, tc := range []struct {
		name string
		mut  func(*http.Request)
		want refusal.Code
	}{
		{"card field in the query", func(r *http.Request) { r.URL.RawQuery = "card_number=" + visa }, refusal.CardDataInQuery},
		{"card in the query", func(r *http.Request) { r.URL.RawQuery = "q=" + visa }, refusal.CardNumberInQuery},
		{"card in the path", func(r *http.Request) { r.URL.Path = "/c/" + visa; r.URL.RawPath = "" }, refusal.CardNumberInPath},
		{"card in a header", func(r *http.Request) { r.Header.Set("X-Note", visa) }, refusal.CardNumberInHeader},
		{"CVC cookie", func(r *http.Request) { r.Header.Set("Cookie", "cvc=123") }, refusal.CardDataInHeader},
		{"websocket", func(r *http.Request) { r.Header.Set("Upgrade", "websocket") }, refusal.UpgradeNotAllowed},
		{"trailers", func(r *http.Request) { r.Trailer = http.Header{"X": {"1"}} }, refusal.TrailersNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request("application/json", `{}`)
			tc.mut(r)
			if _, rerr := c.Check(r); rerr == nil || rerr.Code != tc.want {
				t.Fatalf("got %v, want %s", rerr, tc.want)
			}
		})
	}
	q, rerr := c.Check(httptest.NewRequest(http.MethodGet, "/", nil))
	if rerr != nil || q.Plan != nil || !q.Plan.Empty() {
		t.Fatalf("GET without a body: %v, %+v", rerr, q)
	}
}

// TestApplyFinalCheck: a token Apply did not get from the vault, or a card
// number the plan did not place, never reaches the app.
func TestApplyFinalCheck(t *testing.T) {
	r := request("application/json", `{"card_number":"`+visa+`"}`)
	q, rerr := testConfig(nil).Check(r)
	if rerr != nil {
		t.Fatal(rerr)
	}
	// A vault answering with the card number itself instead of a token.
	if rerr := q.Apply(Tokens{Cards: []token.Issued{{Token: visa}}}); rerr == nil || rerr.Code != refusal.CardDataLeft {
		t.Fatalf("got %v", rerr)
	}
}

// TestPlanUnprintable: a plan in a log line or a failure message shows no
// card data, whatever the verb.
func TestPlanUnprintable(t *testing.T) {
	q, rerr := testConfig(nil).Check(request("application/json", `{"card_number":"`+visa+`","cvc":"739"}`))
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, verb := range []string{"%v", "%+v", "%#v"} {
		// (A plan holds field pointers, printed as addresses: the CVC is
		// looked for where no hex address can be.)
		s := fmt.Sprintf(verb, *q.Plan) + fmt.Sprintf(verb, q.Plan.Cards[0]) + fmt.Sprintf(verb, *q.Plan.Cards[0].Fields[0])
		cvc := fmt.Sprintf(verb, q.Plan.CVCs) + fmt.Sprintf(verb, *q.Plan.CVCs[0].Fields[0])
		if strings.Contains(s, "41111111") || strings.Contains(cvc, "739") {
			t.Errorf("%s: %s %s", verb, s, cvc)
		}
	}
}
