package caddymodule

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

func TestSafeAdmin(t *testing.T) {
	for _, c := range []struct {
		s    adminSetting
		ok   bool
		safe bool
	}{
		{adminSetting{disabled: true}, true, true},
		{adminSetting{listen: "localhost:2019"}, true, false},
		{adminSetting{listen: "127.0.0.1:9"}, true, false},
		{adminSetting{listen: "unix//run/cp/admin.sock"}, true, true},
		{adminSetting{listen: "unix//run/cp/admin.sock|0600"}, true, true},
		{adminSetting{listen: "unix//run/cp/admin.sock|0660"}, true, false},
		{adminSetting{listen: "unix//run/cp/admin.sock|junk"}, true, false},
		{adminSetting{listen: "unix//run/cp/admin.sock", remote: true}, true, false},
		{adminSetting{}, false, false},
	} {
		if got := safeAdmin(c.s, c.ok) == ""; got != c.safe {
			t.Errorf("%+v ok=%v: safe=%v, want %v", c.s, c.ok, got, c.safe)
		}
	}
}

// cardproxy refuses to start while Caddy's admin API listens on TCP, where the
// app could move the egress upstream to itself; admin off, a private socket
// or the loudly named override start.
func TestAdminEndpointGuard(t *testing.T) {
	t.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(t).Token)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	tcp := freeAddr(t)
	site := "\nhttp://" + freeAddr(t) + " {\n\tcard_tokenize\n\trespond ok\n}\n"
	load := func(admin, extra string) error {
		g := strings.Replace(globalOptions(vaultSrv(t).Addr, "adm", ""), "\tadmin off\n", admin, 1)
		g = strings.Replace(g, "\t\ttenant adm\n", "\t\ttenant adm\n"+extra, 1)
		cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(g+site), nil)
		if err != nil {
			t.Fatalf("adapt: %v", err)
		}
		return caddy.Load(cfg, true)
	}
	defer func() { _ = caddy.Stop() }()
	for _, c := range []struct {
		admin, extra string
		starts       bool
	}{
		{"\tadmin " + tcp + "\n", "", false},
		{"", "", false}, // Caddy's default: localhost:2019
		{"\tadmin unix/" + sock + "|0666\n", "", false},
		{"\tadmin off\n", "", true},
		{"\tadmin unix/" + sock + "|0600\n", "", true},
		{"\tadmin " + tcp + "\n", "\t\tinsecure_admin_api_on_tcp\n", true},
	} {
		err := load(c.admin, c.extra)
		if (err == nil) != c.starts {
			t.Fatalf("admin %q %q: started=%v (%v), want %v", c.admin, c.extra, err == nil, err, c.starts)
		}
		if !c.starts && !strings.Contains(err.Error(), "admin") {
			t.Errorf("refusal does not say why: %v", err)
		}
	}
}
