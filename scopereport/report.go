// Package scopereport turns cardproxy's audit trail (the cardproxy.audit log,
// JSON lines) and its configuration into the evidence a PCI DSS assessor asks
// for: what was tokenized, detokenized and refused in a period, that no card
// data was forwarded to the app, the configuration in force, and the
// requirement each control serves. It reads only the audit log, which never
// holds card data; the report holds none either (tokens are not even
// listed, only counted).
package scopereport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/card"
)

// Report is the evidence for one period (its JSON is the report's JSON).
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	Period      struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"period"`
	Events int `json:"events"`
	// SkippedLines are lines that were not a readable log entry (cut,
	// over-long, other formats): counted, not read.
	SkippedLines    int          `json:"skipped_lines"`
	TokenizeReqs    int          `json:"tokenize_requests"`
	FieldsTokenized []FieldCount `json:"fields_tokenized"`
	TokensIssued    struct {
		PAN    int `json:"pan"`
		CVC    int `json:"cvc"`
		Reused int `json:"reused"`
	} `json:"tokens_issued"`
	Detokenizations []DetokCount   `json:"detokenizations"`
	CVCsUsed        int            `json:"cvcs_used"`
	Refusals        []RefusalCount `json:"refusals"`
	// CardDataRefused counts requests refused because cardproxy found card
	// data it could not tokenize with certainty; CardDataForwarded is what
	// reached the app of those: 0 by construction (they are refused), with
	// the checks that ran on every tokenized request.
	CardDataRefused   int      `json:"card_data_detected_and_refused"`
	CardDataForwarded int      `json:"card_data_forwarded_to_app"`
	ChecksRun         []string `json:"checks_run"`
	Relays            struct {
		Stored int `json:"stored"`
		Served int `json:"served"`
	} `json:"relays"`
	VaultIdentities map[string][]string `json:"vault_identities"`
	Configuration   *Config             `json:"configuration,omitempty"`
	Controls        []Control           `json:"controls"`
}

// FieldCount is how often a field of a route carried a tokenized card.
type FieldCount struct {
	Route string `json:"route"`
	Field string `json:"field"`
	Count int    `json:"count"`
}

// DetokCount counts token lookups by upstream, route, kind and result.
type DetokCount struct {
	Upstream string `json:"upstream"`
	Route    string `json:"route"`
	Kind     string `json:"kind"`
	Result   string `json:"result"`
	Count    int    `json:"count"`
}

// RefusalCount counts refusals by side and code.
type RefusalCount struct {
	Side  string `json:"side"`
	Code  string `json:"code"`
	Count int    `json:"count"`
}

// Control is one PCI DSS v4.0 requirement and how cardproxy serves it.
type Control struct {
	Requirement string `json:"requirement"`
	Control     string `json:"control"`
	Evidence    string `json:"evidence"`
}

// cardDataCodes are refusals for card data cardproxy could not tokenize
// with certainty: detected, and kept from the app.
var cardDataCodes = map[string]bool{
	"card_number_in_text": true, "cvc_in_text": true, "card_data_in_field_name": true, "card_number_in_query": true,
	"card_number_in_header": true, "card_number_in_path": true, "card_data_in_query": true, "card_data_in_header": true,
	"card_data_left": true, "card_data_in_unparsed_body": true,
}

// event is the part of an audit event the report reads.
type event struct {
	TS       float64  `json:"ts"`
	Logger   string   `json:"logger"`
	Event    string   `json:"event"`
	Side     string   `json:"side"`
	Identity string   `json:"vault_identity"`
	URI      string   `json:"uri"`
	Route    string   `json:"route"`
	Fields   []string `json:"fields"`
	Cards    int      `json:"cards"`
	CVCs     int      `json:"cvcs"`
	Reused   int      `json:"reused"`
	Kind     string   `json:"kind"`
	Result   string   `json:"result"`
	Upstream string   `json:"upstream"`
	Code     string   `json:"code"`
}

// maxLine bounds one log line; longer ones are skipped (counted).
const maxLine = 1 << 20

// Build reads an audit log (JSON lines; lines of other loggers are
// skipped, unreadable ones counted in SkippedLines) and counts the events
// within [from, to) (zero: unbounded). Routes and field names are masked
// and bounded again here: the report holds no card data even from a log
// written by an older cardproxy.
func Build(log io.Reader, from, to time.Time, now time.Time) (*Report, error) {
	r := &Report{GeneratedAt: now.UTC(), VaultIdentities: map[string][]string{}, ChecksRun: checksRun,
		FieldsTokenized: []FieldCount{}, Detokenizations: []DetokCount{}, Refusals: []RefusalCount{}}
	fields := map[FieldCount]int{}
	detok := map[DetokCount]int{}
	refusals := map[RefusalCount]int{}
	idents := map[string]map[string]bool{}
	br := bufio.NewReaderSize(log, 64<<10)
	for {
		line, long, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if long {
			r.SkippedLines++
			continue
		}
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var head struct {
			Logger string `json:"logger"`
		}
		if json.Unmarshal(line, &head) != nil {
			r.SkippedLines++
			continue
		}
		if head.Logger != "cardproxy.audit" {
			continue
		}
		var ev event
		if json.Unmarshal(line, &ev) != nil {
			r.SkippedLines++
			continue
		}
		ev.Route, ev.URI = safe(ev.Route, 256), safe(ev.URI, 256)
		for i, f := range ev.Fields {
			ev.Fields[i] = safe(f, 128)
		}
		at := time.Unix(0, int64(ev.TS*1e9)).UTC()
		if !from.IsZero() && at.Before(from) || !to.IsZero() && !at.Before(to) {
			continue
		}
		if r.Period.From.IsZero() || at.Before(r.Period.From) {
			r.Period.From = at
		}
		if at.After(r.Period.To) {
			r.Period.To = at
		}
		r.Events++
		if ev.Side != "" && ev.Identity != "" {
			if idents[ev.Side] == nil {
				idents[ev.Side] = map[string]bool{}
			}
			idents[ev.Side][ev.Identity] = true
		}
		route := ev.Route
		if route == "" {
			route = ev.URI
		}
		route, _, _ = strings.Cut(route, "?")
		switch ev.Event {
		case "tokenize":
			r.TokenizeReqs++
			r.TokensIssued.PAN += ev.Cards
			r.TokensIssued.CVC += ev.CVCs
			r.TokensIssued.Reused += ev.Reused
			for _, f := range ev.Fields {
				fields[FieldCount{Route: route, Field: f}]++
			}
		case "detokenize", "cvc_use":
			detok[DetokCount{Upstream: ev.Upstream, Route: route, Kind: ev.Kind, Result: ev.Result}]++
			if ev.Event == "cvc_use" && ev.Result == "ok" {
				r.CVCsUsed++
			}
		case "refuse":
			refusals[RefusalCount{Side: ev.Side, Code: ev.Code}]++
			if cardDataCodes[ev.Code] {
				r.CardDataRefused++
			}
		case "relay_store":
			r.Relays.Stored++
		case "relay_serve":
			r.Relays.Served++
		}
	}
	for k, n := range fields {
		k.Count = n
		r.FieldsTokenized = append(r.FieldsTokenized, k)
	}
	sort.Slice(r.FieldsTokenized, func(i, j int) bool {
		a, b := r.FieldsTokenized[i], r.FieldsTokenized[j]
		return a.Route+"\x00"+a.Field < b.Route+"\x00"+b.Field
	})
	for k, n := range detok {
		k.Count = n
		r.Detokenizations = append(r.Detokenizations, k)
	}
	sort.Slice(r.Detokenizations, func(i, j int) bool {
		a, b := r.Detokenizations[i], r.Detokenizations[j]
		return fmt.Sprint(a.Upstream, a.Route, a.Kind, a.Result) < fmt.Sprint(b.Upstream, b.Route, b.Kind, b.Result)
	})
	for k, n := range refusals {
		k.Count = n
		r.Refusals = append(r.Refusals, k)
	}
	sort.Slice(r.Refusals, func(i, j int) bool {
		return r.Refusals[i].Side+r.Refusals[i].Code < r.Refusals[j].Side+r.Refusals[j].Code
	})
	for side, set := range idents {
		for id := range set {
			r.VaultIdentities[side] = append(r.VaultIdentities[side], id)
		}
		sort.Strings(r.VaultIdentities[side])
	}
	r.Controls = controls
	return r, nil
}

// checksRun are the checks every request on a card route passes before
// anything is forwarded to the app (README "Refusals").
var checksRun = []string{
	"request line, path, query and headers scanned for card numbers and tokens in every encoding",
	"body parsed (JSON, form, multipart) with the limits; unparseable bodies forwarded only if they provably hold no card data",
	"every card number and CVC in a named or auto-detected field tokenized; any other card number refused (residual check)",
	"the rewritten body checked again for every card number of the request in any representation (final check)",
}

// controls map PCI DSS v4.0 requirements to cardproxy's controls.
var controls = []Control{
	{"3.3.1.2", "The CVC is kept only until the payment is sent: sealed, single use, destroyed after use; unused ones expire (cvc_ttl) and are swept",
		"cvcs_used; refusals with code unknown_token; vault.TestCVCConcurrentUseOnce, TestCVCRaceLoserAndHistory"},
	{"3.4.1", "The app, its logs and this report see tokens or at most the last four digits, never a full PAN",
		"card_data_forwarded_to_app = 0; caddymodule.TestFullPaymentFlow checks the audit trail and the app's traffic"},
	{"3.5.1", "Stored PANs are encrypted by Vault Transit (per-tenant derived keys) and bound to their token; keys rotate with vault-rotate",
		"vault.TestNoCardDataInVault, TestRotate"},
	{"4.2.1", "Card data leaves cardproxy only to the one configured HTTPS upstream of an egress",
		"detokenizations by upstream; configuration.egress"},
	{"7.2", "Least privilege: the ingress can only tokenize, the egress only detokenize (separate Vault identities and policies); the app holds no Vault credential",
		"vault_identities; caddymodule.TestFullPaymentFlowSeparateIdentities; deploy.TestKubernetesExample"},
	{"10.2", "Every tokenization, detokenization, CVC use, refusal and 3-D Secure relay is an audit event (cardproxy.audit), matched with Vault's audit device",
		"events; this report is built from that trail"},
}

// readLine reads one line; long reports a line past maxLine (read to its
// end and dropped).
func readLine(br *bufio.Reader) (line []byte, long bool, err error) {
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return nil, false, err
		}
		if !long {
			line = append(line, chunk...)
			if len(line) > maxLine {
				long, line = true, nil
			}
		}
		if !isPrefix {
			return line, long, nil
		}
	}
}

// safe masks card numbers and bounds a string from the log.
func safe(s string, n int) string { return card.Printable(card.Redact(s), n) }
