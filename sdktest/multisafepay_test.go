package sdktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/pspsim"
)

const mspKey = "msp-sdktest-key"

// MultiSafepay's SDK against pspsim through the egress: a direct order, a
// 3-D Secure order (challenge passed, then looked up), a refund, and the
// CVC token's second use refused. Twice: with the app holding its key (the
// SDK's api_key header, kept by `servers { expected_underscore_headers
// api_key }`) and with cardproxy injecting it (the app's SDK holds a
// placeholder, which never reaches the PSP).
func TestMultiSafepaySDK(t *testing.T) {
	t.Run("app_key", func(t *testing.T) { mspFlow(t, false) })
	t.Run("injected_key", func(t *testing.T) { mspFlow(t, true) })
}

func mspFlow(t *testing.T, inject bool) {
	sim := pspsim.New(pspsim.Config{APIKey: mspKey})
	simSrv, ca := testcaddy.TLSServer(t, sim.Handler())
	sim.SetPublicURL(simSrv.URL)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("OK")) }))
	t.Cleanup(hooks.Close)

	tenant := fmt.Sprintf("sdk-msp-%v", inject)
	egress := testcaddy.FreeAddr(t)
	opts := []string{"preset multisafepay", "ca_cert " + ca}
	extra, appKey := "\tauto_https off\n\tservers {\n\t\texpected_underscore_headers api_key\n\t}\n", mspKey
	if inject {
		t.Setenv("SDKTEST_MSP_KEY", mspKey)
		opts = append(opts, "api_key {env.SDKTEST_MSP_KEY}")
		extra, appKey = "", "app-holds-no-key" // the SDK refuses an empty key
	}
	testcaddy.Run(t, global(t, tenant, extra)+egressSite(egress, false, simSrv.URL, opts...))
	in := func(op, orderID, pan, cvc string) map[string]any {
		return map[string]any{"op": op, "base": "http://" + egress, "key": appKey, "order_id": orderID, "pan": pan, "cvc": cvc,
			"notify": hooks.URL + "/webhook"}
	}
	// keyed checks that every request the PSP got carries the key once.
	keyed := func(rs []pspsim.Received) {
		for _, r := range rs {
			if got := r.Header.Values("api_key"); len(got) != 1 || got[0] != mspKey {
				t.Errorf("%s %s reached the PSP with api_key %q, want the merchant's key once", r.Method, r.Path, got)
			}
		}
	}

	// 1. A direct order; the expiry is the PAN token: cardproxy fills in
	// the stored one as YYMM.
	const pan, cvc = "4111111111111111", "123"
	panTok, cvcTok := tokens(t, tenant, pan, "12/30", "Jan Janssen", cvc)
	id := "order-direct" // one simulator per run: fixed ids (a long number in one would be masked)
	r := runSDK(t, "multisafepay.mjs", in("order", id, panTok, cvcTok))
	appClean(t, r, pan, cvc)
	if !r.OK || r.Parsed["success"] != true || r.Parsed["order_id"] != id || r.Parsed["status"] != "completed" ||
		r.Parsed["card"] != "VISA" || r.Parsed["last4"] != 1111.0 {
		t.Fatalf("the SDK did not parse a completed order: %s", r.raw)
	}
	got := sim.Received()
	if len(got) != 1 {
		t.Fatalf("the PSP got %d requests, want 1", len(got))
	}
	o := got[0]
	for path, want := range map[string]any{
		"gateway_info.card_number": pan, "gateway_info.card_cvc": cvc, "gateway_info.card_expiry_date": "3012",
		"gateway_info.card_holder_name": "Jan Janssen", "order_id": id, "plugin.shop": "multisafepay-node-wrapper",
	} {
		if v := jsonPath(t, o.Body, path); v != want {
			t.Errorf("the PSP got %s = %v, want %v", path, v, want)
		}
	}
	if ct := o.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8;" {
		t.Errorf("the PSP got Content-Type %q, not the SDK's", ct)
	}
	// The SDK parsed the PSP's own answer: its transaction id.
	if want := simOrder(t, simSrv, id)["transaction_id"]; r.Parsed["transaction_id"] != want || want == nil {
		t.Errorf("the SDK parsed transaction_id %v, the PSP has %v", r.Parsed["transaction_id"], want)
	}

	// 2. The same CVC token again: refused, nothing reaches the PSP.
	r = runSDK(t, "multisafepay.mjs", in("order", id+"-again", panTok, cvcTok))
	appClean(t, r, pan, cvc)
	refused(t, r)
	if n := len(sim.Received()); n != 2 { // the order and simOrder's lookup
		t.Errorf("the refused order reached the PSP (%d requests)", n)
	}

	// 3. A 3-D Secure card: the SDK gets the challenge's payment_url; the
	// shopper passes it; the SDK then sees the order completed.
	const pan3ds = "4761340000000019"
	panTok3ds, cvcTok3ds := tokens(t, tenant, pan3ds, "12/30", "Jan Janssen", cvc)
	id3ds := id + "-3ds"
	r = runSDK(t, "multisafepay.mjs", in("order", id3ds, panTok3ds, cvcTok3ds))
	appClean(t, r, pan3ds, cvc)
	if !r.OK || r.Parsed["status"] != "initialized" || r.Parsed["payment_url"] != simSrv.URL+"/acs/"+id3ds {
		t.Fatalf("the SDK did not parse the 3-D Secure order: %s", r.raw)
	}
	if v := jsonPath(t, sim.Received()[2].Body, "gateway_info.card_number"); v != pan3ds {
		t.Errorf("the PSP got card_number %v for the 3-D Secure order", v)
	}
	shopper := simSrv.Client()
	shopper.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := shopper.PostForm(r.Parsed["payment_url"].(string)+"/result", url.Values{"outcome": {"authenticate"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the challenge answered %d", resp.StatusCode)
	}
	r = runSDK(t, "multisafepay.mjs", in("get", id3ds, "", ""))
	appClean(t, r, pan3ds, cvc)
	if !r.OK || r.Parsed["order_id"] != id3ds || r.Parsed["status"] != "completed" {
		t.Errorf("after the challenge the SDK sees: %s", r.raw)
	}

	// 4. A refund of the direct order.
	r = runSDK(t, "multisafepay.mjs", in("refund", id, "", ""))
	appClean(t, r, pan, cvc)
	if !r.OK || r.Parsed["success"] != true || r.Parsed["refund_id"] == nil || r.Parsed["refund_id"] == "" {
		t.Errorf("the SDK did not parse the refund: %s", r.raw)
	}
	got = sim.Received()
	if last := got[len(got)-1]; last.Method != http.MethodPost || last.Path != "/v1/json/orders/"+id+"/refunds" {
		t.Errorf("the PSP's last request is %s %s, want the refund", last.Method, last.Path)
	}
	if len(got) != 5 {
		t.Errorf("the PSP got %d requests, want 5 (order, simOrder's lookup, 3-D Secure order, lookup, refund)", len(got))
	}
	keyed(got)
	for _, r := range got {
		if strings.Contains(fmt.Sprint(r.Header), "app-holds-no-key") {
			t.Errorf("the app's placeholder key reached the PSP: %v", r.Header)
		}
	}
}

// simOrder is the order as the PSP keeps it (asked directly, not through
// the egress).
func simOrder(t *testing.T, simSrv *httptest.Server, id string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, simSrv.URL+"/v1/json/orders/"+id, nil)
	req.Header.Set("api_key", mspKey)
	resp, err := simSrv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Data map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("pspsim: %v", err)
	}
	return out.Data
}
