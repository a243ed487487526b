package msp

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

func TestSignKnownValue(t *testing.T) {
	// Computed apart from this code:
	// printf '1700000000:{}' | openssl dgst -sha512 -hmac key
	const mac = "ca3d27ef805b27ea6da1a5af024bd8600c004e823a8933836f6d5106ae2759d1" +
		"47fddb63454d8d072682daeed63ebc7be920223d130142f97e0f5568901ccc48"
	want := base64.StdEncoding.EncodeToString([]byte("1700000000:" + mac))
	if got := Sign("key", 1700000000, []byte("{}")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"order_id":"x","status":"completed"}`)
	const signedAt = 1700000000
	auth := Sign("key", signedAt, body)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	cases := []struct {
		name   string
		key    string
		auth   string
		body   []byte
		now    time.Time
		maxAge time.Duration
		want   error
	}{
		{"valid", "key", auth, body, at(signedAt + 10), time.Minute, nil},
		{"valid, no age bound", "key", auth, body, at(signedAt + 1e6), 0, nil},
		{"valid, exactly maxAge old", "key", auth, body, at(signedAt + 60), time.Minute, nil},
		{"tampered body", "key", auth, []byte(`{"order_id":"x","status":"declined"}`), at(signedAt), time.Minute, ErrSignature},
		{"body with a byte added", "key", auth, append(append([]byte(nil), body...), ' '), at(signedAt), time.Minute, ErrSignature},
		{"wrong key", "other", auth, body, at(signedAt), time.Minute, ErrSignature},
		{"other timestamp, same mac", "key", b64("1700000001:" + macOf(t, auth)), body, at(signedAt), time.Minute, ErrSignature},
		{"stale", "key", auth, body, at(signedAt + 61), time.Minute, ErrStale},
		{"stale but tampered", "key", auth, []byte("{}"), at(signedAt + 3600), time.Minute, ErrStale},
		{"not base64", "key", "not base64!", body, at(signedAt), time.Minute, ErrMalformed},
		{"empty header", "key", "", body, at(signedAt), time.Minute, ErrMalformed},
		{"no colon", "key", b64("1700000000"), body, at(signedAt), time.Minute, ErrMalformed},
		{"timestamp not a number", "key", b64("yesterday:" + macOf(t, auth)), body, at(signedAt), time.Minute, ErrMalformed},
		{"hex mac not base64-wrapped", "key", "1700000000:" + macOf(t, auth), body, at(signedAt), time.Minute, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Verify(c.key, c.auth, c.body, c.now, c.maxAge)
			if c.want == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

// macOf returns the hex MAC part of an Auth header.
func macOf(t *testing.T, auth string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil || len(raw) < 12 {
		t.Fatalf("bad auth %q", auth)
	}
	return string(raw[11:])
}
