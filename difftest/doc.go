// Package difftest is cardproxy's parser-differential suite: it proves (or
// disproves) "no card data reaches the app" against the request parsers
// merchants actually run — Go net/http, PHP, Werkzeug, Django and
// Express+busboy — each as a small app behind an in-process cardproxy
// (Caddy + card_tokenize) backed by a real Vault.
//
// Every generated request shape is sent twice: directly to the parser app
// (to learn whether the parser decodes the card at all, so a clean result
// is never vacuous without saying so) and through cardproxy. Through
// cardproxy, a case passes if cardproxy refused it (4xx JSON error, the app
// never saw the request) or if the parser found no card number, no CVC and
// no smuggled cardproxy token in anything it decoded.
//
// The apps live in difftest/apps; scripts/parsers.sh installs their
// runtimes. Run: go test ./difftest -run 'TestGo|TestPHP' -v
package difftest
