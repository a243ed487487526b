package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cardproxy/cardproxy/token"
)

// Scenario is one kind of request, sent in a closed loop.
type Scenario struct {
	Name string
	// Kind is "ingress", "egress" or "vault" (raw Vault, no cardproxy).
	Kind string
	// Baseline is the scenario whose req/s this one is divided by.
	Baseline string
	// Writes are the Vault writes one request of this scenario needs with
	// cardproxy's storage design (raw-Vault scenario → count): the ceiling of
	// the scenario is 1 / Σ count/rate over the raw rates of the same run.
	// Update it when the design changes what must be written.
	Writes map[string]int

	prepare func(*state) error
	do      func(*state, *worker) error
}

// ingressScenarios are the cardproxy scenarios, in run order: producers of
// single-use tokens before their consumers, baselines first.
var cardproxyScenarios = []Scenario{
	{Name: "plain", Kind: "ingress", do: (*state).plain},
	{Name: "passthrough", Kind: "ingress", Baseline: "plain", do: (*state).passthrough},
	{Name: "repeat-pan", Kind: "ingress", Baseline: "plain", prepare: (*state).prepareCards, do: func(s *state, w *worker) error {
		return s.repeat(w, false)
	}},
	{Name: "repeat-pan-cvc", Kind: "ingress", Baseline: "plain", prepare: (*state).prepareCards,
		Writes: map[string]int{"kv-write": 1}, // the CVC entry
		do:     func(s *state, w *worker) error { return s.repeat(w, true) }},
	{Name: "new-card-cvc", Kind: "ingress", Baseline: "plain",
		Writes: map[string]int{"kv-write": 3}, // record, index entry, CVC entry
		do:     (*state).newCard},
	{Name: "plain-tls", Kind: "egress", prepare: (*state).prepareCards, do: (*state).plainTLS},
	{Name: "egress-pan", Kind: "egress", Baseline: "plain-tls", prepare: (*state).prepareCards, do: (*state).egressPAN},
	{Name: "egress-pan-cvc", Kind: "egress", Baseline: "plain-tls", prepare: (*state).prepareCVCs,
		Writes: map[string]int{"kv-write": 1, "kv-delete": 1}, // CVC "used" marker, entry deleted
		do:     (*state).egressPANCVC},
}

func (s *state) orderID(prefix string) string { return prefix + strconv.FormatInt(seq.Add(1), 10) }

// plain: a card order through plain reverse_proxy; the app echoes it.
func (s *state) plain(w *worker) error {
	return s.echoed(w, s.env.Plain, orderBody(s.orderID("order-"), testPAN, "123"))
}

// passthrough: a card-free order through card_tokenize.
func (s *state) passthrough(w *worker) error {
	return s.echoed(w, s.env.Tokenize, freeBody(s.orderID("order-")))
}

func (s *state) echoed(w *worker, url string, body []byte) error {
	b, err := w.post(url+"/v1/json/orders", body)
	if err == nil && !bytes.Equal(b, body) {
		err = errors.New("the app did not get the body as sent")
	}
	return err
}

// tokenized sends an order with pan (and cvc) through card_tokenize and checks
// what the app saw: a PAN token (wantPAN if given), a CVC token in both CVC
// fields, and neither the PAN nor the CVC.
func (s *state) tokenized(w *worker, pan, cvc, wantPAN string) (order, error) {
	b, err := w.post(s.env.Tokenize+"/v1/json/orders", orderBody(s.orderID("order-"), pan, cvc))
	if err != nil {
		return order{}, err
	}
	o, err := parseOrder(b)
	switch {
	case err != nil:
		return o, fmt.Errorf("the app's echo is not an order: %v", err)
	case bytes.Contains(b, []byte(pan)):
		return o, errors.New("the app saw the PAN")
	case !token.IsPAN(o.Gateway.PAN), wantPAN != "" && o.Gateway.PAN != wantPAN:
		return o, fmt.Errorf("the app saw card_number %q, want the card's token %q", o.Gateway.PAN, wantPAN)
	case cvc == "" && (o.Gateway.CVC != "" || o.Gateway.CVC2 != ""):
		return o, errors.New("a CVC appeared")
	case cvc != "" && (!token.IsCVC(o.Gateway.CVC) || o.Gateway.CVC2 != o.Gateway.CVC):
		return o, fmt.Errorf("the app saw CVC fields %q and %q, want one CVC token", o.Gateway.CVC, o.Gateway.CVC2)
	}
	return o, nil
}

// prepareCards tokenizes the repeat pool (once per Vault): every later
// request with one of these cards is a repeat.
func (s *state) prepareCards() error {
	if len(s.cards) > 0 {
		return nil
	}
	cards := make([]card, s.opts.Cards)
	for i := range cards {
		cards[i].pan = newPAN(s.rng)
	}
	var next atomic.Int64
	err := fill(len(cards), s.c, s.client, nil, func(w *worker) error {
		c := &cards[next.Add(1)-1]
		o, err := s.tokenized(w, c.pan, "", "")
		c.token = o.Gateway.PAN
		return err
	})
	if err != nil {
		return fmt.Errorf("tokenizing the repeat pool: %w", err)
	}
	s.cards = cards
	return nil
}

func (s *state) repeat(w *worker, withCVC bool) error {
	c := s.cards[w.rng.IntN(len(s.cards))]
	cvc := ""
	if withCVC {
		cvc = newCVC(w.rng)
	}
	o, err := s.tokenized(w, c.pan, cvc, c.token)
	if err == nil && withCVC {
		s.cvcs.push(cvcCard{pan: c.pan, cvc: cvc, panToken: c.token, cvcToken: o.Gateway.CVC})
	}
	return err
}

func (s *state) newCard(w *worker) error {
	pan, cvc := newPAN(w.rng), newCVC(w.rng)
	o, err := s.tokenized(w, pan, cvc, "")
	if err == nil {
		s.cvcs.push(cvcCard{pan: pan, cvc: cvc, panToken: o.Gateway.PAN, cvcToken: o.Gateway.CVC})
	}
	return err
}

// plainTLS: the egress's order (with a token) through plain TLS reverse_proxy.
func (s *state) plainTLS(w *worker) error {
	_, err := w.post(s.env.PlainTLS+"/v1/json/orders", orderBody(s.orderID("tls-"), s.cards[0].token, ""))
	return err
}

// egress sends an order with tokens through card_detokenize; the upstream
// answers 200 only if it got pan and cvc.
func (s *state) egress(w *worker, pan, cvc, panTok, cvcTok string) error {
	id := s.orderID("eg-")
	s.env.upstream.expect(id, pan, cvc)
	defer s.env.upstream.forget(id)
	b, err := w.post(s.env.Egress+"/v1/json/orders", orderBody(id, panTok, cvcTok))
	if err == nil && !bytes.Contains(b, []byte(`"success":true`)) {
		err = fmt.Errorf("unexpected answer %.200s", b)
	}
	return err
}

func (s *state) egressPAN(w *worker) error {
	c := s.cards[w.rng.IntN(len(s.cards))]
	return s.egress(w, c.pan, "", c.token, "")
}

func (s *state) egressPANCVC(w *worker) error {
	c, ok := s.cvcs.pop()
	if !ok {
		return errPoolEmpty
	}
	return s.egress(w, c.pan, c.cvc, c.panToken, c.cvcToken)
}

// prepareCVCs makes sure there are enough single-use CVC tokens for
// egress-pan-cvc (the ingress scenarios before it leave theirs) for its
// warm-up and run, plus a fifth, at an assumed rate: egress-pan's, but at
// most twice repeat-pan-cvc's (it needs more Vault calls than either). They
// are made through the ingress for at most the run's duration; if they run
// out the scenario ends early and says so.
func (s *state) prepareCVCs() error {
	if err := s.prepareCards(); err != nil {
		return err
	}
	rate := s.rates["egress-pan"]
	if r := s.rates["repeat-pan-cvc"]; r > 0 && (rate == 0 || rate > 2*r) {
		rate = 2 * r
	}
	if rate == 0 {
		rate = 200
	}
	need := int(rate*(s.d+s.warm).Seconds()*1.2) + 4*s.c
	return s.topUp(s.cvcs.len, need, func(w *worker) error { return s.repeat(w, true) })
}

// topUp calls produce on c workers until have() reaches need or the run's
// duration has passed.
func (s *state) topUp(have func() int, need int, produce func(*worker) error) error {
	if have() >= need {
		return nil
	}
	s.logf("  making %d single-use items (have %d)…", need-have(), have())
	r := load(s.c, s.d, s.client, s.vc, func(w *worker) error {
		if have() >= need {
			return errPoolEmpty
		}
		return produce(w)
	})
	if r.errors > 0 {
		return fmt.Errorf("making single-use items: %d errors, first: %s", r.errors, r.firstErr)
	}
	return nil
}

// warmup is the unmeasured run before each scenario: a fifth of the
// duration, at most a second.
func warmup(d time.Duration) time.Duration { return min(time.Second, d/5) }
