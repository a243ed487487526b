package caddymodule

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// Caddy's admin API can rewrite every route of a running config, unauthenticated.
// In a sidecar the merchant app shares loopback with cardproxy: through a TCP
// admin endpoint it could move the egress upstream to a listener of its own
// (and receive card data), or add a route serving {file.*} and {env.*}
// secrets. So cardproxy refuses to start behind one: the admin endpoint must
// be off (`admin off`) or a unix socket only its owner can use
// (`admin unix//run/cardproxy/admin.sock|0600`), unless the operator sets
// the loudly named insecure_admin_api_on_tcp.

// adminSetting is the admin endpoint of the config being loaded.
type adminSetting struct {
	disabled, remote bool
	listen           string
}

// adminOf reads the admin settings of the config ctx belongs to. Caddy keeps
// them unexported; reflection reads them without changing anything. ok is
// false when they cannot be read (then cardproxy assumes the worst).
func adminOf(ctx caddy.Context) (adminSetting, bool) {
	cfg := reflect.ValueOf(ctx).FieldByName("cfg")
	if !cfg.IsValid() || cfg.Kind() != reflect.Pointer || cfg.IsNil() {
		return adminSetting{}, false
	}
	adm := cfg.Elem().FieldByName("Admin")
	if !adm.IsValid() || adm.Kind() != reflect.Pointer {
		return adminSetting{}, false
	}
	if adm.IsNil() {
		return adminSetting{listen: caddy.DefaultAdminListen}, true
	}
	a := adm.Elem()
	dis, lis, rem := a.FieldByName("Disabled"), a.FieldByName("Listen"), a.FieldByName("Remote")
	if dis.Kind() != reflect.Bool || lis.Kind() != reflect.String || rem.Kind() != reflect.Pointer {
		return adminSetting{}, false
	}
	s := adminSetting{disabled: dis.Bool(), listen: lis.String(), remote: !rem.IsNil()}
	if s.listen == "" {
		s.listen = caddy.DefaultAdminListen
	}
	return s, true
}

// safeAdmin explains why an admin setting is unsafe next to card data, or
// returns "".
func safeAdmin(s adminSetting, ok bool) string {
	switch {
	case !ok:
		return "cardproxy cannot tell where Caddy's admin endpoint listens"
	case s.disabled:
		return ""
	case s.remote:
		return "Caddy's remote admin endpoint is on"
	case !strings.HasPrefix(s.listen, "unix/"):
		return fmt.Sprintf("Caddy's admin endpoint listens on TCP (%s), where the app could reconfigure cardproxy", s.listen)
	}
	_, perm, hasPerm := strings.Cut(s.listen, "|")
	if !hasPerm {
		return "" // Caddy's default socket mode is 0200: owner only
	}
	mode, err := strconv.ParseUint(perm, 8, 32)
	if err != nil || mode&0o077 != 0 {
		return fmt.Sprintf("Caddy's admin socket mode %s lets other users in (use 0600 or stricter)", perm)
	}
	return ""
}

// checkAdmin is called when the cardproxy app is provisioned.
func (a *App) checkAdmin(ctx caddy.Context) error {
	why := safeAdmin(adminOf(ctx))
	if why == "" {
		return nil
	}
	if a.InsecureAdminAPIOnTCP {
		a.logger.Warn("INSECURE: " + why + "; insecure_admin_api_on_tcp is set, so cardproxy starts anyway. Anything that reaches the admin endpoint can redirect card data.")
		return nil
	}
	return fmt.Errorf("cardproxy: refusing to start: %s. Set `admin off` or `admin unix//run/cardproxy/admin.sock|0600` in the global options (or, knowingly, the cardproxy option insecure_admin_api_on_tcp)", why)
}
