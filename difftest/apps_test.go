package difftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/internal/testcaddy"
)

// parserApp is a running parser app.
type parserApp struct {
	name string
	url  string // http://127.0.0.1:port
}

const installHint = "run scripts/parsers.sh (as root it installs php-cli, python3-werkzeug, python3-django, nodejs, npm and runs npm ci in difftest/apps/node)"

// goApp is the Go net/http parser: ParseMultipartForm (or ParseForm),
// r.Form, r.PostForm, multipart files, encoding/json into a map and into a
// struct (case-insensitive key matching), query, headers, cookies, path.
func goApp() http.Handler {
	var count atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__count" {
			fmt.Fprintf(w, `{"count":%d}`, count.Load())
			return
		}
		count.Add(1)
		var out [][]string
		add := func(src, name, v string) { out = append(out, []string{src, name, v}) }
		values := func(src string, vs map[string][]string) {
			for k, l := range vs {
				add(src+".key", k, k)
				for _, v := range l {
					add(src, k, v)
				}
			}
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(32 << 20); err != nil && r.Form == nil {
			_ = r.ParseForm()
		}
		values("r.Form", r.Form)
		values("r.PostForm", r.PostForm)
		if r.MultipartForm != nil {
			for k, fhs := range r.MultipartForm.File {
				for _, fh := range fhs {
					add("MultipartForm.File.filename", k, fh.Filename)
					if f, err := fh.Open(); err == nil {
						b, _ := io.ReadAll(f)
						f.Close()
						add("MultipartForm.File.content", k, string(b))
					}
				}
			}
		}
		var m any
		if json.Unmarshal(body, &m) == nil {
			walkJSON("json.map", "", m, add)
		}
		var s struct {
			CardNumber string `json:"card_number"`
			CVC        string `json:"cvc"`
		}
		if json.NewDecoder(bytes.NewReader(body)).Decode(&s) == nil {
			add("json.struct", "CardNumber", s.CardNumber)
			add("json.struct", "CVC", s.CVC)
		}
		values("URL.Query", r.URL.Query())
		values("header", r.Header)
		for _, c := range r.Cookies() {
			add("cookie.key", c.Name, c.Name)
			add("cookie", c.Name, c.Value)
		}
		add("path", "path", r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Parser", "go")
		_ = json.NewEncoder(w).Encode(map[string]any{"parser": "go", "items": out})
	})
}

func walkJSON(src, name string, v any, add func(src, name, v string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			add(src+".key", name, k)
			walkJSON(src, name+"."+k, vv, add)
		}
	case []any:
		for i, vv := range x {
			walkJSON(src, fmt.Sprintf("%s[%d]", name, i), vv, add)
		}
	case float64:
		add(src, name, strconv.FormatFloat(x, 'f', -1, 64))
	case string:
		add(src, name, x)
	default:
		add(src, name, fmt.Sprint(x))
	}
}

func startGo(t *testing.T) parserApp {
	s := httptest.NewServer(goApp())
	t.Cleanup(s.Close)
	t.Logf("go app on %s", s.URL)
	return parserApp{"go", s.URL}
}

func freePort(t testing.TB) int { return testcaddy.FreePort(t) }

func appsDir(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "apps")
}

// python is the interpreter with Debian's python3-werkzeug/python3-django.
func python() string {
	if p := os.Getenv("DIFFTEST_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// startProcess runs an app on a free port, waits until it answers and
// kills its process group when the test ends.
func startProcess(t *testing.T, name, dir string, env []string, argv func(port int) []string) parserApp {
	t.Helper()
	port := freePort(t)
	args := argv(port)
	logf, err := os.CreateTemp("", "difftest-"+name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s app: %v; %s", name, err, installHint)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		logf.Close()
		os.Remove(logf.Name())
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := appCount(url); err == nil {
			break
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s app exited before answering (%s):\n%s", name, installHint, b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s app did not answer on port %d within 30s:\n%s", name, port, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s app on port %d (pid %d)", name, port, cmd.Process.Pid)
	return parserApp{name, url}
}

func need(t *testing.T, what string, check func() error) {
	t.Helper()
	if err := check(); err != nil {
		t.Fatalf("parser %s is missing (%v): %s", what, err, installHint)
	}
}

func lookPath(name string) func() error {
	return func() error { _, err := exec.LookPath(name); return err }
}

func pyModule(mod string) func() error {
	return func() error {
		out, err := exec.Command(python(), "-c", "import "+mod).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: import %s: %v: %s", python(), mod, err, bytes.TrimSpace(out))
		}
		return nil
	}
}

func startPHP(t *testing.T) parserApp {
	need(t, "php (php-cli)", lookPath("php"))
	dir := filepath.Join(appsDir(t), "php")
	countFile := filepath.Join(t.TempDir(), "count")
	return startProcess(t, "php", dir, []string{"DIFFTEST_COUNT_FILE=" + countFile}, func(port int) []string {
		return []string{"php", "-S", fmt.Sprintf("127.0.0.1:%d", port), "router.php"}
	})
}

func startWerkzeug(t *testing.T) parserApp {
	need(t, "werkzeug (python3-werkzeug)", pyModule("werkzeug"))
	dir := filepath.Join(appsDir(t), "werkzeug")
	return startProcess(t, "werkzeug", dir, nil, func(port int) []string {
		return []string{python(), "app.py", strconv.Itoa(port)}
	})
}

func startDjango(t *testing.T) parserApp {
	need(t, "django (python3-django)", pyModule("django"))
	dir := filepath.Join(appsDir(t), "django")
	return startProcess(t, "django", dir, nil, func(port int) []string {
		return []string{python(), "app.py", strconv.Itoa(port)}
	})
}

func startExpress(t *testing.T) parserApp {
	need(t, "node (nodejs)", lookPath("node"))
	dir := filepath.Join(appsDir(t), "node")
	need(t, "express+busboy (difftest/apps/node/node_modules)", func() error {
		for _, m := range []string{"express", "busboy"} {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", m, "package.json")); err != nil {
				return err
			}
		}
		return nil
	})
	return startProcess(t, "express", dir, nil, func(port int) []string {
		return []string{"node", "app.js", strconv.Itoa(port)}
	})
}
