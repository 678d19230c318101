package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// unitPath is deploy/systemd/<name>.
func unitPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "deploy", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// unitFile is a systemd unit file: the values of each "Section.Key", in
// the order they are assigned.
type unitFile map[string][]string

// parseUnit reads a unit file as systemd does: [Section] headers,
// Key=Value lines with blanks around both trimmed, comment lines starting
// with # or ;, and a backslash at the end of a line joining the next.
func parseUnit(t *testing.T, path string) unitFile {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unitFile{}
	section := ""
	lines := strings.Split(string(src), "\n")
	for n := 0; n < len(lines); n++ {
		line := strings.TrimSpace(lines[n])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		for strings.HasSuffix(line, `\`) && n+1 < len(lines) {
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[n])
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not Key=Value in a section: %q", path, n+1, line)
		}
		k := section + "." + strings.TrimSpace(key)
		u[k] = append(u[k], strings.TrimSpace(value))
	}
	return u
}

// one is the only value of key; an empty value resets a list in systemd,
// so only the last assignment counts for single-valued keys.
func (u unitFile) one(t *testing.T, key string) string {
	t.Helper()
	vs := u[key]
	if len(vs) == 0 {
		t.Errorf("%s: not set", key)
		return ""
	}
	return vs[len(vs)-1]
}

// words are all the space-separated values of a list key.
func (u unitFile) words(key string) []string {
	var out []string
	for _, v := range u[key] {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// unitBool reads a systemd boolean.
func unitBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

// unitEnvironment is the environment systemd gives the service: the
// unit's Environment= assignments, then the env file's, which override
// them. envFile is read as systemd reads an EnvironmentFile: NAME=value
// lines, blank lines and comment lines (# or ;) skipped. The sample uses
// no quotes, escapes or continuation lines; a line with them fails the
// test rather than being read differently from systemd.
func unitEnvironment(t *testing.T, u unitFile, envFile string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, v := range u["Service.Environment"] {
		for _, kv := range strings.Fields(v) {
			if strings.ContainsAny(kv, `"'\`) {
				t.Fatalf("Environment=%s: quoting is not parsed here", v)
			}
			name, value, _ := strings.Cut(kv, "=")
			env[name] = value
		}
	}
	src, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	for n, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(line, `"'\`) || name != strings.TrimSpace(name) || strings.HasPrefix(name, "export ") {
			t.Fatalf("%s:%d: want a plain NAME=value line, got %q", envFile, n+1, line)
		}
		env[name] = strings.TrimSpace(value)
	}
	return env
}

// The unit's sandbox and lifecycle, read from the unit file: what the
// README promises an operator.
func TestSystemdUnitDirectives(t *testing.T) {
	u := parseUnit(t, unitPath(t, "webhook-receiver.service"))
	for _, key := range []string{"DynamicUser", "NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectHome",
		"ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups", "RestrictNamespaces",
		"RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute"} {
		if v, ok := unitBool(u.one(t, "Service."+key)); !v || !ok {
			t.Errorf("%s=%s, want yes", key, u.one(t, "Service."+key))
		}
	}
	for key, want := range map[string]string{
		"Service.Type":            "exec",
		"Service.ExecStart":       "/usr/local/bin/webhook-receiver serve",
		"Service.StateDirectory":  "webhook-receiver",
		"Service.EnvironmentFile": "-/etc/webhook-receiver/env",
		"Service.ProtectSystem":   "strict",
		"Service.Restart":         "on-failure",
		"Service.KillSignal":      "SIGTERM",
		"Service.UMask":           "0077",
		"Install.WantedBy":        "multi-user.target",
	} {
		if got := u.one(t, key); got != want {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	if got := u.words("Service.RestrictAddressFamilies"); !slices.Equal(got, []string{"AF_INET", "AF_INET6", "AF_UNIX"}) {
		t.Errorf("RestrictAddressFamilies=%v, want AF_INET AF_INET6 AF_UNIX", got)
	}
	// The first SystemCallFilter makes an allow list; later ~ lines take
	// groups out of it.
	filters := u["Service.SystemCallFilter"]
	if len(filters) == 0 || filters[0] != "@system-service" {
		t.Errorf("SystemCallFilter=%v, want an allow list of @system-service first", filters)
	}
	for _, f := range filters[1:] {
		if !strings.HasPrefix(f, "~") {
			t.Errorf("SystemCallFilter=%s widens the allow list", f)
		}
	}
	if got := u["Service.CapabilityBoundingSet"]; len(got) != 1 || got[0] != "" {
		t.Errorf("CapabilityBoundingSet=%q, want empty (no capabilities)", got)
	}
	// The SQLite database is in the state directory: the one place
	// ProtectSystem=strict leaves writable.
	env := unitEnvironment(t, u, unitPath(t, "env.example"))
	stateDir := "/var/lib/" + u.one(t, "Service.StateDirectory")
	if got := env["WEBHOOK_RECEIVER_DATABASE_URL"]; !strings.HasPrefix(got, "sqlite:"+stateDir+"/") {
		t.Errorf("WEBHOOK_RECEIVER_DATABASE_URL=%s, want a SQLite file in %s", got, stateDir)
	}
	if got := env["WEBHOOK_RECEIVER_LISTEN"]; !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("WEBHOOK_RECEIVER_LISTEN=%s, want loopback only (nginx in front)", got)
	}
}

// systemdAnalyze is systemd-analyze, once it has verified a trivial unit
// cleanly here, or skips.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		deployToolMissing(t, "systemd-analyze not found: apt-get install systemd")
	}
	probe := filepath.Join(t.TempDir(), "probe.service")
	os.WriteFile(probe, []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	if out, err := exec.Command(tool, "verify", probe).CombinedOutput(); err != nil || len(out) > 0 {
		deployToolMissing(t, fmt.Sprintf("systemd-analyze verify cannot run here (%v): %s", err, out))
	}
	return tool
}

// installUnit writes the unit to dir as webhook-receiver.service with
// ExecStart running bin (systemd-analyze verify wants the binary to
// exist), changed further by edit.
func installUnit(t *testing.T, dir, bin string, edit func(string) string) string {
	t.Helper()
	src, err := os.ReadFile(unitPath(t, "webhook-receiver.service"))
	if err != nil {
		t.Fatal(err)
	}
	const exec = "ExecStart=/usr/local/bin/webhook-receiver "
	if strings.Count(string(src), exec) != 1 {
		t.Fatalf("want one %q line", exec)
	}
	unit := edit(strings.Replace(string(src), exec, "ExecStart="+bin+" ", 1))
	path := filepath.Join(dir, "webhook-receiver.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// systemd-analyze verify finds nothing to say about the unit: no unknown
// directive, no value it cannot parse, the binary present and executable.
// It runs here without systemd as PID 1. The same with the commented
// LoadCredential lines for a YAML file turned on. systemd-analyze
// security --offline rates the sandbox (0 best, 10 worst).
func TestSystemdAnalyzeVerify(t *testing.T) {
	tool := systemdAnalyze(t)
	bin := build(t)
	variants := map[string]func(string) string{
		"as shipped": func(s string) string { return s },
		"with a YAML file as credential": func(s string) string {
			for _, line := range []string{"LoadCredential=config.yaml:", "Environment=WEBHOOK_RECEIVER_CONFIG="} {
				if !strings.Contains(s, "\n#"+line) {
					t.Fatalf("no commented %s line", line)
				}
				s = strings.Replace(s, "\n#"+line, "\n"+line, 1)
			}
			return s
		},
	}
	for name, edit := range variants {
		t.Run(name, func(t *testing.T) {
			unit := installUnit(t, t.TempDir(), bin, edit)
			out, err := exec.Command(tool, "verify", unit).CombinedOutput()
			if err != nil || len(out) > 0 {
				t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
			}
		})
	}
	unit := installUnit(t, t.TempDir(), bin, variants["as shipped"])
	// --threshold is in tenths: 20 = 2.0, within systemd's "OK" band.
	out, err := exec.Command(tool, "security", "--offline=yes", "--threshold=20", "--no-pager", unit).CombinedOutput()
	var overall string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "Overall exposure level") {
			overall = strings.TrimSpace(line)
		}
	}
	if err != nil || overall == "" {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	v, _ := exec.Command(tool, "--version").Output()
	t.Logf("%s: %s", strings.SplitN(string(v), "\n", 2)[0], overall)
}

// The real binary started with the environment the unit and the sample
// env file give it, changed only where this test must: the fake LMS and
// its client, the listen port, the state directory (a temporary one, as
// StateDirectory= would create it) and the shop's secret. It starts with
// no warning (every variable in the sample is a setting), keeps its
// SQLite file in the state directory, enrolls a signed order, and on
// SIGTERM, the unit's KillSignal, exits 0, which Restart=on-failure
// leaves stopped.
func TestSystemdUnitEnvironmentRunsTheService(t *testing.T) {
	u := parseUnit(t, unitPath(t, "webhook-receiver.service"))
	env := unitEnvironment(t, u, unitPath(t, "env.example"))
	stateDir := "/var/lib/" + u.one(t, "Service.StateDirectory")
	tmpState := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(tmpState, 0o700); err != nil {
		t.Fatal(err)
	}
	lms := edxtest.New(t)
	for name, value := range env {
		env[name] = strings.ReplaceAll(value, stateDir, tmpState)
	}
	env["STATE_DIRECTORY"] = tmpState // as systemd sets it
	env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	env["WEBHOOK_RECEIVER_LMS_BASE_URL"] = lms.URL
	env["WEBHOOK_RECEIVER_OAUTH2_KEY"] = lms.ClientID
	env["WEBHOOK_RECEIVER_OAUTH2_SECRET"] = lms.ClientSecret
	env["WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN"] = "bin.myshopify.com"
	env["WEBHOOK_RECEIVER_SHOPIFY_SECRET"] = "bin-secret"
	var environ []string
	for name, value := range env {
		environ = append(environ, name+"="+value)
	}
	slices.Sort(environ)
	t.Logf("environment: %s", strings.Join(environ, " "))

	bin := build(t)
	p := start(t, bin, environ) // start sets WEBHOOK_RECEIVER_LISTEN to a free port
	if status := postSigned(t, clientFrom("127.0.0.1"), p.url, "systemd", "", shopifyOrderOfSize(1, "unit@example.com", 0)); status != 200 {
		t.Fatalf("order: status %d\n%s", status, p.logs)
	}
	waitEnrolled(t, lms, []string{"unit@example.com"}, 30*time.Second)
	if _, err := os.Stat(filepath.Join(tmpState, "webhook-receiver.db")); err != nil {
		t.Errorf("database not in the state directory: %v", err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
	}
	logs := p.logs.String()
	if strings.Contains(logs, "level=WARN") || strings.Contains(logs, `"level":"WARN"`) {
		t.Errorf("warnings with the unit's environment:\n%s", logs)
	}
	if !strings.Contains(logs, "msg=stopped") {
		t.Errorf("no graceful stop in the log:\n%s", logs)
	}
}
