package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	// After request_body (so its size limit applies first), before the
	// handlers that forward or answer.
	registerHandler[Tokenize]("card_tokenize", httpcaddyfile.After, "request_body")
}

// UnmarshalCaddyfile parses (see caddyfile.go for the rules):
//
//	card_tokenize {
//		pan          <field>...
//		cvc          <field>...
//		expiry       <field>...
//		expiry_month <field>...
//		expiry_year  <field>...
//		holder       <field>...
//		ignore       <field>...
//		format       opaque|preserve_last4 [<field>...]
//		auto_detect  on|off
//		max_body     <size>
//		max_fields   <n>
//		max_depth    <n>
//		max_cards    <n>
//		max_cvcs     <n>
//		metadata     headers|none
//		expose_bin
//		bind_upstream <psp host>...
//		tenant       <name>
//	}
//
// The field lists and the per-field `format <name> <field>...` may be
// repeated: each line adds fields. Every other subdirective, including the
// default `format <name>`, may be given once; a field may get one format.
func (t *Tokenize) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return parseDirective(d, []option{
		listOption("pan", &t.PAN),
		listOption("cvc", &t.CVC),
		listOption("expiry", &t.Expiry),
		listOption("expiry_month", &t.ExpiryMonth),
		listOption("expiry_year", &t.ExpiryYear),
		listOption("holder", &t.Holder),
		listOption("ignore", &t.Ignore),
		listOption("bind_upstream", &t.BindUpstream),
		{name: "format", min: 1, max: -1, repeat: true, set: t.setFormat},
		onOffOption("auto_detect", &t.AutoDetect),
		sizeOption("max_body", &t.MaxBody),
		countOption("max_fields", &t.MaxFields),
		countOption("max_depth", &t.MaxDepth),
		countOption("max_cards", &t.MaxCards),
		countOption("max_cvcs", &t.MaxCVCs),
		stringOption("metadata", &t.Metadata),
		flagOption("expose_bin", &t.ExposeBIN),
		stringOption("tenant", &t.Tenant),
	})
}

// setFormat reads `format <name>` (the default for PAN tokens, once) and
// `format <name> <field>...` (only for these fields; repeatable).
func (t *Tokenize) setFormat(d *caddyfile.Dispenser, args []string) error {
	name, fields := args[0], args[1:]
	if len(fields) == 0 {
		if t.Format != "" {
			return d.Errf("card_tokenize: the default format is given twice (%s, then %s)", t.Format, name)
		}
		t.Format = name
		return nil
	}
	if t.FieldFormats == nil {
		t.FieldFormats = map[string]string{}
	}
	for _, f := range fields {
		if had, ok := t.FieldFormats[f]; ok && had != name {
			return d.Errf("card_tokenize: field %s gets two formats (%s, then %s)", f, had, name)
		}
		t.FieldFormats[f] = name
	}
	return nil
}
