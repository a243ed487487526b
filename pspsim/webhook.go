package pspsim

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cardproxy/cardproxy/msp"
)

// sendWebhook POSTs the order (body) to the shop's notification URL, signed
// as MultiSafepay signs it (msp.Sign), and records the attempt.
func (s *Sim) sendWebhook(notify, id string, body []byte) {
	ts := s.cfg.Now().Unix()
	u := appendQuery(appendQuery(notify, "transactionid", id), "timestamp", strconv.FormatInt(ts, 10))
	auth := msp.Sign(s.cfg.APIKey, ts, body)
	wh := Webhook{URL: u, Body: body, Auth: auth}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(msp.AuthHeader, auth)
		req.Header.Set("User-Agent", "MultiSafepay Plugin Notification")
		resp, derr := s.cfg.WebhookClient.Do(req)
		if derr != nil {
			wh.Err = derr.Error()
		} else {
			wh.Status = resp.StatusCode
			resp.Body.Close()
		}
	} else {
		wh.Err = err.Error()
	}
	s.mu.Lock()
	s.webhooks = append(s.webhooks, wh)
	s.mu.Unlock()
}

func appendQuery(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + url.QueryEscape(k) + "=" + url.QueryEscape(v)
}
