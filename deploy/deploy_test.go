// Package deploy holds the deployment examples (Kubernetes, systemd, Vault
// policies); its test checks that they parse and say what matters.
package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"gopkg.in/yaml.v3"

	_ "github.com/cardproxy/cardproxy/caddymodule"
	"github.com/cardproxy/cardproxy/vault"
)

type container struct {
	Name  string
	Image string
	Args  []string
	Ports []struct {
		ContainerPort int `yaml:"containerPort"`
	}
	SecurityContext map[string]any `yaml:"securityContext"`
	VolumeMounts    []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type object struct {
	Kind     string
	Metadata struct{ Name, Namespace string }
	Data     map[string]string
	Spec     struct {
		Ports []struct {
			Port       int
			TargetPort any `yaml:"targetPort"`
		}
		Template struct {
			Metadata struct{ Annotations map[string]string }
			Spec     struct {
				ServiceAccountName string `yaml:"serviceAccountName"`
				AutomountToken     *bool  `yaml:"automountServiceAccountToken"`
				Containers         []container
				Volumes            []struct {
					Name      string
					Projected *struct {
						Sources []struct {
							ServiceAccountToken *struct{ Path, Audience string } `yaml:"serviceAccountToken"`
						}
					}
				}
			}
		}
	}
}

func TestKubernetesExample(t *testing.T) {
	f, err := os.Open("kubernetes/cardproxy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs := map[string]object{}
	dec := yaml.NewDecoder(f)
	for {
		var o object
		if err := dec.Decode(&o); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatal(err)
		}
		objs[o.Kind] = o
	}
	dep, cm, svc := objs["Deployment"], objs["ConfigMap"], objs["Service"]
	// The app must hold no credential Vault accepts as cardproxy's: no
	// automounted service-account token, no injector (its /vault/secrets
	// goes into every container); the token cardproxy logs in with is a
	// projected volume only cardproxy's container mounts.
	spec := dep.Spec.Template.Spec
	for k := range dep.Spec.Template.Metadata.Annotations {
		if strings.HasPrefix(k, "vault.hashicorp.com/") {
			t.Errorf("Vault Agent injector annotation %s: the injector mounts its secrets into every container", k)
		}
	}
	if spec.AutomountToken == nil || *spec.AutomountToken {
		t.Error("the pod automounts the service-account token into every container, the app's included")
	}
	if spec.ServiceAccountName != objs["ServiceAccount"].Metadata.Name {
		t.Error("the pod does not run as the service account Vault's roles are bound to")
	}
	tokenVolume := ""
	for _, v := range spec.Volumes {
		if v.Projected != nil && len(v.Projected.Sources) == 1 && v.Projected.Sources[0].ServiceAccountToken != nil {
			tokenVolume = v.Name
		}
	}
	if tokenVolume == "" {
		t.Fatal("no projected service-account token volume for cardproxy's Vault login")
	}
	var cp *container
	for i, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			if (m.Name == "admin" || m.Name == tokenVolume) && c.Name != "cardproxy" {
				t.Errorf("container %s mounts volume %s", c.Name, m.Name)
			}
		}
		if c.Name == "cardproxy" {
			cp = &dep.Spec.Template.Spec.Containers[i]
		}
	}
	if cp == nil {
		t.Fatal("no cardproxy container")
	}
	sc := cp.SecurityContext
	if sc["runAsNonRoot"] != true || sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false {
		t.Errorf("cardproxy's security context: %v", sc)
	}
	for _, p := range cp.Ports {
		if p.ContainerPort != 8080 {
			t.Errorf("cardproxy exposes port %d (only the ingress, 8080, may be)", p.ContainerPort)
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort != "ingress" {
			t.Errorf("the Service targets %v, not the ingress", p.TargetPort)
		}
	}
	// The Caddyfile adapts, binds the egress to loopback, keeps the admin
	// API on the socket, and logs in with the projected token, one Vault
	// role per side.
	cfg := adapt(t, cm.Data["Caddyfile"])
	for _, want := range []string{`"listen":"unix//run/cardproxy/admin.sock|0600"`, `"listen":["127.0.0.1:8081"]`,
		`"ingress_vault":{"auth_method":"kubernetes","jwt_file":"/var/run/secrets/cardproxy/vault-token","role":"cardproxy-ingress"}`,
		`"egress_vault":{"auth_method":"kubernetes","jwt_file":"/var/run/secrets/cardproxy/vault-token","role":"cardproxy-egress"}`,
		`"handler":"card_detokenize"`, `"handler":"card_tokenize"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("adapted Caddyfile lacks %s", want)
		}
	}
}

func adapt(t *testing.T, caddyfile string) string {
	t.Helper()
	out, warns, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	for _, w := range warns {
		t.Errorf("adapt warning: %s", w.Message)
	}
	var compact map[string]any
	if err := json.Unmarshal(out, &compact); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(compact)
	return string(b)
}

func TestSystemdUnit(t *testing.T) {
	f, err := os.Open("systemd/cardproxy.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			kv[k] = append(kv[k], v)
		}
	}
	for k, want := range map[string]string{
		"ExecStart": "/usr/local/bin/cardproxy run --config /etc/cardproxy/Caddyfile", "DynamicUser": "yes",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "RuntimeDirectory": "cardproxy", "Type": "notify",
	} {
		if len(kv[k]) != 1 || kv[k][0] != want {
			t.Errorf("%s=%v, want %s", k, kv[k], want)
		}
	}
	if !strings.Contains(kv["ExecReload"][0], "unix//run/cardproxy/admin.sock") {
		t.Errorf("reload does not use the admin socket in the runtime directory: %v", kv["ExecReload"])
	}
}

// The shipped policy files are what vault-init writes.
func TestPolicyFiles(t *testing.T) {
	s, err := vault.New(vault.Config{Token: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for file, want := range map[string]string{"vault/cardproxy-tokenize.hcl": s.TokenizePolicy(), "vault/cardproxy-detokenize.hcl": s.DetokenizePolicy()} {
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s differs from `cardproxy vault-policy` (regenerate it: go run ./cmd/cardproxy vault-policy tokenize|detokenize > deploy/%s)", file, file)
		}
	}
}
