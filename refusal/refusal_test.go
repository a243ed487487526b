package refusal

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's refusal tables from Table")

// TestEveryCodeInTable: every Code constant has exactly one row, with a
// status that is an error and a description.
func TestEveryCodeInTable(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := 0
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || vs.Type.(*ast.Ident).Name != "Code" {
			return true
		}
		for _, v := range vs.Values {
			consts++
			code := Code(strings.Trim(v.(*ast.BasicLit).Value, `"`))
			if _, ok := byCode[code]; !ok {
				t.Errorf("%s is not in Table", code)
			}
		}
		return true
	})
	if consts != len(Table) || len(byCode) != len(Table) {
		t.Errorf("%d codes, %d rows, %d distinct rows", consts, len(Table), len(byCode))
	}
	for _, r := range Table {
		if r.Status < 400 || r.Status > 599 || r.When == "" || r.Sides == 0 {
			t.Errorf("row %s: status %d, sides %d, when %q", r.Code, r.Status, r.Sides, r.When)
		}
	}
}

// TestREADMETables: the README's refusal tables are Markdown(side), between
// <!-- refusals:<side> --> and <!-- /refusals --> (go test -update rewrites them).
func TestREADMETables(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for name, side := range map[string]Side{"ingress": Ingress, "egress": Egress, "relay": Relay} {
		re := regexp.MustCompile(`(?s)(<!-- refusals:` + name + ` -->\n)(.*?)(<!-- /refusals -->)`)
		m := re.FindStringSubmatch(readme)
		if m == nil {
			t.Errorf("README has no <!-- refusals:%s --> table", name)
			continue
		}
		if want := Markdown(side); m[2] != want {
			if *update {
				readme = re.ReplaceAllLiteralString(readme, m[1]+want+m[3])
				continue
			}
			t.Errorf("README's %s refusal table differs from refusal.Table; run go test ./refusal -update\nwant:\n%s", name, want)
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	err := New(CardNumberInText, `field "n4111111111111111" holds a card number`).Write(rec)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, headers %v", rec.Code, rec.Header())
	}
	if body := rec.Body.String(); strings.Contains(body, "4111111111111111") || !strings.Contains(body, `"error":"card_number_in_text"`) {
		t.Errorf("body %s", body)
	}
	rec = httptest.NewRecorder()
	_ = New(VaultUnavailable, "down").Write(rec)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("503: status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if StatusOf("no_such_code") != http.StatusInternalServerError {
		t.Error("unknown code")
	}
}
