package main

import (
	"runtime/debug"
	"testing"
)

func TestVersionString(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	for _, c := range []struct {
		set  string
		bi   *debug.BuildInfo
		want string
	}{
		{"v1.2.3", vcs, "cardproxy v1.2.3"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, "cardproxy v0.4.0"},
		{"", vcs, "cardproxy 0123456789ab+dirty"},
		{"", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "cardproxy (devel)"},
		{"", nil, "cardproxy (devel)"},
	} {
		if got := versionString(c.set, c.bi); got != c.want {
			t.Errorf("versionString(%q, …) = %q, want %q", c.set, got, c.want)
		}
	}
}
