package vaulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// apiClient is the plain HTTP client the cluster set-up speaks to Vault
// with: no retries (sys/init is not idempotent), no keep-alive between
// nodes that may be killed at any moment, and no timeout of its own: each
// call's context bounds it (on a loaded 2-core box sys/init alone can take
// more than 30s).
var apiClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// call sends one request to addr+"/v1/"+path with an optional token and
// JSON body; a 2xx answer is decoded into out (when not nil). Any other
// status is an error that quotes Vault's answer.
func call(ctx context.Context, method, addr, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, addr+"/v1/"+path, body)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Health is one node's state as sys/health tells it.
type Health int

const (
	Down        Health = iota // no answer
	Uninit                    // 501: not initialised
	Sealed                    // 503: sealed
	Standby                   // 429: unsealed standby
	Active                    // 200: the active node (the Raft leader)
	OtherHealth               // any other status
)

func (h Health) String() string {
	return [...]string{"down", "uninitialised", "sealed", "standby", "active", "other"}[h]
}

// health asks addr's sys/health with a one-second limit. The query asks for
// distinct codes for every state (sealed answers 503, not 200).
func health(ctx context.Context, addr string) Health {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
		addr+"/v1/sys/health?standbycode=429&sealedcode=503&uninitcode=501", nil)
	resp, err := apiClient.Do(req)
	if err != nil {
		return Down
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case 200:
		return Active
	case 429:
		return Standby
	case 503:
		return Sealed
	case 501:
		return Uninit
	}
	return OtherHealth
}

// poll calls cond every 50ms until it reports done, returns an error, or
// limit passes; what returns the last state for the timeout message.
func poll(limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vaulttest: %s not reached after %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
