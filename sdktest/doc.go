// Package sdktest proves that the PSPs' official Node SDKs work through
// cardproxy's egress unchanged but for the base URL: MultiSafepay's
// (@multisafepay/api-wrapper) against pspsim, Stripe's, Adyen's and
// Checkout.com's against a recording TLS upstream. Each SDK runs from a small
// script in this directory (installed by `npm ci` from the committed
// package-lock.json: scripts/parsers.sh) with cardproxy tokens where the
// card fields go; the Go tests run cardproxy in process on a real Vault and
// check what the PSP received (card and CVC restored, the key), what the SDK
// parsed, that a CVC token works once, and that the app side — the script's
// output — never holds the card number or the CVC.
//
// Run: go test ./sdktest -v
package sdktest
