package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

// The Caddyfile syntax of the four modules is parsed in one way, by the files
// next to them (app_caddyfile.go, tokenize_caddyfile.go,
// detokenize_caddyfile.go, relay_caddyfile.go): each block is a table of
// subdirectives (option) and parseBlock reads it.
//
// Rules, the same in every block:
//   - An unknown subdirective is an error naming it.
//   - A subdirective may be given once. A second one is an error naming it,
//     its line and the line of the first — except the field lists (pan, cvc,
//     expiry, expiry_month, expiry_year, holder, ignore) and the per-field form
//     `format <name> <field>...`, which may be repeated: every line adds its
//     fields to the ones before (the default `format <name>` is given once,
//     and a field gets one format). card_detokenize's upstream is given once,
//     on the directive line or as a subdirective.
//   - A wrong number of arguments is an error saying how many it takes.

// option is one subdirective of a block: its name, how many arguments it
// takes (max < 0: no limit), whether it may be repeated, and set, which
// stores the (already counted) arguments.
type option struct {
	name     string
	min, max int
	repeat   bool
	set      func(d *caddyfile.Dispenser, args []string) error
}

// parseBlock reads the block that follows the current token (if any), option
// by option. what names the block in errors ("card_tokenize", "vault").
func parseBlock(d *caddyfile.Dispenser, what string, opts []option) error {
	first := map[string]int{} // option → line it was first given on
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key, line := d.Val(), d.Line()
		o := findOption(opts, key)
		if o == nil {
			return d.Errf("unknown %s option %q", what, key)
		}
		if at, seen := first[key]; seen && !o.repeat {
			return d.Errf("%s: %s given twice (lines %d and %d); it may be given once", what, key, at, line)
		}
		first[key] = line
		args := d.RemainingArgs()
		if err := checkArgs(d, what, o, len(args)); err != nil {
			return err
		}
		if err := o.set(d, args); err != nil {
			return err
		}
	}
	return nil
}

func findOption(opts []option, name string) *option {
	for i := range opts {
		if opts[i].name == name {
			return &opts[i]
		}
	}
	return nil
}

func checkArgs(d *caddyfile.Dispenser, what string, o *option, n int) error {
	switch {
	case n >= o.min && (o.max < 0 || n <= o.max):
		return nil
	case o.max == 0:
		return d.Errf("%s: %s takes no arguments, got %d", what, o.name, n)
	case o.min == 1 && o.max == 1:
		return d.Errf("%s: %s takes exactly one value, got %d", what, o.name, n)
	case o.min == 1 && o.max < 0:
		return d.Errf("%s: %s needs at least one value", what, o.name)
	default:
		return d.Errf("%s: %s takes %d to %d values, got %d", what, o.name, o.min, o.max, n)
	}
}

// parseDirective reads a directive (or global option) that takes no
// arguments, then its block of opts.
func parseDirective(d *caddyfile.Dispenser, opts []option) error {
	d.Next()
	if name := d.Val(); d.NextArg() {
		return d.Errf("%s takes no arguments, got %q", name, d.Val())
	}
	return parseBlock(d, d.Val(), opts)
}

// Option kinds.

// flagOption: `name` alone turns it on.
func flagOption(name string, dst *bool) option {
	return option{name: name, set: func(*caddyfile.Dispenser, []string) error { *dst = true; return nil }}
}

// stringOption: `name <value>`.
func stringOption(name string, dst *string) option {
	return option{name: name, min: 1, max: 1, set: func(_ *caddyfile.Dispenser, a []string) error { *dst = a[0]; return nil }}
}

// listOption: `name <field>...`, repeatable, appends.
func listOption(name string, dst *[]string) option {
	return option{name: name, min: 1, max: -1, repeat: true,
		set: func(_ *caddyfile.Dispenser, a []string) error { *dst = append(*dst, a...); return nil }}
}

// durationOption: `name <duration>` (Caddy's syntax: 10s, 1h30m, 2d).
func durationOption[D ~int64](name string, dst *D) option {
	return option{name: name, min: 1, max: 1, set: func(d *caddyfile.Dispenser, a []string) error {
		v, err := caddy.ParseDuration(a[0])
		if err != nil {
			return d.Errf("%s: %v", name, err)
		}
		*dst = D(v)
		return nil
	}}
}

// sizeOption: `name <size>` (64KiB, 1MB, …), more than zero.
func sizeOption(name string, dst *int64) option {
	return option{name: name, min: 1, max: 1, set: func(d *caddyfile.Dispenser, a []string) error {
		n, err := humanize.ParseBytes(a[0])
		if err != nil || n == 0 {
			return d.Errf("%s: invalid size %q", name, a[0])
		}
		*dst = int64(n)
		return nil
	}}
}

// countOption: `name <n>`, a positive whole number.
func countOption(name string, dst *int) option {
	return option{name: name, min: 1, max: 1, set: func(d *caddyfile.Dispenser, a []string) error {
		n, err := strconv.Atoi(a[0])
		if err != nil || n <= 0 {
			return d.Errf("%s must be a positive number, not %q", name, a[0])
		}
		*dst = n
		return nil
	}}
}

// onOffOption: `name on|off` (or true/false), stored as a *bool so that
// "not given" stays distinguishable.
func onOffOption(name string, dst **bool) option {
	return option{name: name, min: 1, max: 1, set: func(d *caddyfile.Dispenser, a []string) error {
		on, err := a[0] == "on", error(nil)
		if a[0] != "on" && a[0] != "off" {
			on, err = strconv.ParseBool(a[0])
		}
		if err != nil {
			return d.Errf("%s must be on or off, not %q", name, a[0])
		}
		*dst = &on
		return nil
	}}
}

// registerHandler registers the handler directive name, parsed by the
// handler's own UnmarshalCaddyfile, at pos relative to the directive anchor.
func registerHandler[T any, P interface {
	*T
	caddyhttp.MiddlewareHandler
	caddyfile.Unmarshaler
}](name string, pos httpcaddyfile.Positional, anchor string) {
	httpcaddyfile.RegisterHandlerDirective(name, func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		p := P(new(T))
		return p, p.UnmarshalCaddyfile(h.Dispenser)
	})
	httpcaddyfile.RegisterDirectiveOrder(name, pos, anchor)
}

// Interface guards.
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Tokenize)(nil)
	_ caddyfile.Unmarshaler = (*Detokenize)(nil)
	_ caddyfile.Unmarshaler = (*ThreeDSRelay)(nil)
)
