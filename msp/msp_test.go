package msp

import (
	"encoding/json"
	"testing"
)

func TestYYMM(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"3012"`, "3012"},
		{`3012`, "3012"},
		{`"3\u0030012"`, "30012"},
		{`null`, "null"},
		{`true`, "true"},
		{`{"a":1}`, `{"a":1}`},
	} {
		var gi GatewayInfo
		if err := json.Unmarshal([]byte(`{"card_expiry_date":`+c.in+`}`), &gi); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if string(gi.CardExpiryDate) != c.want {
			t.Errorf("%s decoded to %q, want %q", c.in, gi.CardExpiryDate, c.want)
		}
	}
	b, _ := json.Marshal(GatewayInfo{CardExpiryDate: "3012"})
	if want := `{"card_cvc":"","card_expiry_date":"3012","card_holder_name":"","card_number":""}`; string(b) != want {
		t.Errorf("encoded %s, want %s", b, want)
	}
}

func TestEnvelope(t *testing.T) {
	for _, c := range []struct {
		in   Response[any]
		want string
	}{
		{OK(map[string]any{"b": 1, "a": 2}), `{"data":{"a":2,"b":1},"success":true}`},
		{Error(1032, "Invalid API key"), `{"data":[],"error_code":1032,"error_info":"Invalid API key","success":false}`},
	} {
		if b, _ := json.Marshal(c.in); string(b) != c.want {
			t.Errorf("got %s, want %s", b, c.want)
		}
	}
	// An error's empty data array does not stop a typed decoding from
	// reading the error.
	var r Response[Order]
	_ = json.Unmarshal([]byte(`{"success":false,"data":[],"error_code":1006,"error_info":"Invalid transaction ID"}`), &r)
	if r.Success || r.ErrorCode != 1006 || r.ErrorInfo != "Invalid transaction ID" {
		t.Errorf("decoded %+v", r)
	}
}
