package difftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"
)

// Case is one request shape.
type Case struct {
	Name    string
	Method  string
	Target  string      // path and query; "/" when empty
	Header  [][2]string // sent in order, keys as written (duplicates allowed)
	Body    []byte
	Chunked bool   // no Content-Length: Transfer-Encoding: chunked
	PAN     string // the card number the request carries ("" if none)
	CVC     string // the CVC the request carries ("" if none)
	Victim  bool   // smuggles the victim tokens
}

// item is one string a parser decoded: where from, under which name.
type item struct{ Src, Name, Val string }

type appDump struct {
	Parser string     `json:"parser"`
	Items  [][]string `json:"items"`
}

// secrets is what must never reach a parser.
type secrets struct {
	pans   []string // every test PAN (and the victim PAN)
	cvc    string   // this case's CVC
	tokens []string // the victim tokens
}

var client = &http.Client{
	Timeout:   20 * time.Second,
	Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4},
}

// send performs c against base (http://host:port) and returns the answer.
func send(base string, c Case) (*http.Response, []byte, error) {
	target := c.Target
	if target == "" {
		target = "/"
	}
	var body io.Reader
	if c.Body != nil {
		body = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequest(c.Method, base+target, body)
	if err != nil {
		return nil, nil, err
	}
	if c.Chunked && c.Body != nil {
		req.Body = io.NopCloser(bytes.NewReader(c.Body))
		req.ContentLength = -1
	}
	req.Header = http.Header{}
	for _, kv := range c.Header {
		req.Header[kv[0]] = append(req.Header[kv[0]], kv[1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func parseDump(b []byte) ([]item, error) {
	var d appDump
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	out := make([]item, 0, len(d.Items))
	for _, it := range d.Items {
		if len(it) == 3 {
			out = append(out, item{it[0], it[1], it[2]})
		}
	}
	return out, nil
}

// digitValue maps any Unicode decimal digit to its ASCII digit. Unicode
// assigns decimal digits only in contiguous runs of ten, 0 to 9.
func digitValue(r rune) (byte, bool) {
	if r >= '0' && r <= '9' {
		return byte(r), true
	}
	if !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return byte('0' + (r-start)%10), true
}

// normalizePAN strips spaces, dashes and NBSPs and maps Unicode digits to
// ASCII, so "４１１１ 1111-1111\u00a01111" contains the PAN.
func normalizePAN(s string) string {
	var b strings.Builder
	for _, r := range s {
		if d, ok := digitValue(r); ok {
			b.WriteByte(d)
			continue
		}
		if unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) || unicode.Is(unicode.Pd, r) || r == '\u00a0' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mapDigits maps Unicode digits to ASCII and keeps everything else.
func mapDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if d, ok := digitValue(r); ok {
			b.WriteByte(d)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var tokenRE = regexp.MustCompile(`cp_(?:pan|cvc)_[0-9A-Za-z]{24}`)

// containsCVC reports a digit-bounded run equal to cvc, after removing
// cardproxy tokens (random base62 could hold one).
func containsCVC(s, cvc string) bool {
	s = tokenRE.ReplaceAllString(mapDigits(s), "_")
	for i := 0; ; {
		j := strings.Index(s[i:], cvc)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(cvc)
		if (j == 0 || !isDigit(s[j-1])) && (end == len(s) || !isDigit(s[end])) {
			return true
		}
		i = j + 1
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// cvcNoise are headers whose values are numbers the harness or the proxy
// chose (lengths, ports, cardproxy's own metadata): never the client's CVC.
var cvcNoise = map[string]bool{"content-length": true, "host": true, "x-forwarded-for": true,
	"x-forwarded-host": true, "cardproxy-card-expires": true, "cardproxy-card-last4": true,
	"cardproxy-tokenized": true, "cardproxy-card-brand": true}

func headerName(it item) string {
	n := strings.ToLower(strings.Trim(it.Name, "[]"))
	n = strings.TrimPrefix(n, "http_")
	return strings.ReplaceAll(n, "_", "-")
}

func isHeaderSrc(src string) bool {
	return strings.Contains(src, "header") || strings.HasPrefix(src, "META")
}

// leaks lists, for each decoded string holding secret data, where it was
// and what KIND of data it was — never the data.
func leaks(items []item, sec secrets) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if it.Src == "error" {
			continue
		}
		var kinds []string
		norm := normalizePAN(it.Val)
		for _, p := range sec.pans {
			if strings.Contains(norm, p) {
				kinds = append(kinds, "PAN")
				break
			}
		}
		if sec.cvc != "" && !(isHeaderSrc(it.Src) && cvcNoise[headerName(it)]) && containsCVC(it.Val, sec.cvc) {
			kinds = append(kinds, "CVC")
		}
		for _, tok := range sec.tokens {
			if strings.Contains(it.Val, tok) {
				kinds = append(kinds, "victim token")
				break
			}
		}
		for _, k := range kinds {
			d := fmt.Sprintf("%s %q saw %s", it.Src, maskName(it.Name), k)
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	sort.Strings(out) // parsers' maps iterate in any order
	return out
}

var digitRunRE = regexp.MustCompile(`\p{Nd}+`)

// maskName makes a field name printable: digit runs become #, tokens cp_….
func maskName(s string) string {
	s = tokenRE.ReplaceAllString(s, "cp_…")
	s = digitRunRE.ReplaceAllString(s, "#")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

// appCount asks the app (directly) how many requests it has served.
func appCount(appURL string) (int, error) {
	resp, b, err := send(appURL, Case{Method: "GET", Target: "/__count"})
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("/__count: %d", resp.StatusCode)
	}
	var v struct{ Count int }
	err = json.Unmarshal(b, &v)
	return v.Count, err
}

// refusal reports whether an answer is cardproxy's JSON error.
func refusal(resp *http.Response, b []byte) (string, bool) {
	if resp.StatusCode < 400 || resp.StatusCode > 499 || resp.Header.Get("X-Parser") != "" {
		return "", false
	}
	var e struct {
		Error   *string `json:"error"`
		Message *string `json:"message"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error == nil || e.Message == nil || *e.Error == "" {
		return "", false
	}
	return *e.Error, true
}

// seenDirect sends c straight to the app and returns what the parser saw.
func seenDirect(t *testing.T, appURL string, c Case, sec secrets) (parsed bool, found []string) {
	resp, b, err := send(appURL, c)
	if err != nil || resp.Header.Get("X-Parser") == "" {
		return false, nil
	}
	items, err := parseDump(b)
	if err != nil {
		t.Errorf("direct: bad dump from app: %v", err)
		return false, nil
	}
	return true, leaks(items, sec)
}
