//go:build linux

package main_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// imageVersion is stamped into the binary the image test builds.
const imageVersion = "v0.0.0-image-test"

// imagePrerequisites skips the test when buildah is missing or the test is
// not root (chroot and bind mounts need it), and fails it under CI.
func imagePrerequisites(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("buildah"); err != nil {
		missing = append(missing, "buildah (apt-get install buildah; .ci/run installs it)")
	}
	if _, err := exec.LookPath("chroot"); err != nil {
		missing = append(missing, "chroot (coreutils)")
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root (chroot --userspec and bind mounts)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "the container image test needs " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// finalStage is the Dockerfile's last stage, from its FROM line on, as
// written.
func finalStage(t *testing.T, dockerfile string) string {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	last := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			last = i
		}
	}
	if last < 0 || strings.TrimSpace(lines[last]) != "FROM scratch" {
		t.Fatalf("%s: the last stage must be FROM scratch (it builds offline), found %q", dockerfile, lines[last])
	}
	return strings.Join(lines[last:], "")
}

// buildah runs buildah on the test's own storage.
type buildah struct {
	t          *testing.T
	root, run  string
	containers []string
}

func (b *buildah) cmd(args ...string) (string, error) {
	args = append([]string{"--root", b.root, "--runroot", b.run, "--storage-driver", "vfs"}, args...)
	var out, errOut bytes.Buffer
	c := exec.Command("buildah", args...)
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		return "", errors.New("buildah " + strings.Join(args, " ") + ": " + err.Error() + "\n" + errOut.String() + out.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (b *buildah) must(args ...string) string {
	b.t.Helper()
	out, err := b.cmd(args...)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

// imageConfig is the part of `buildah inspect --type image` the test reads
// (the Docker format, which keeps HEALTHCHECK).
type imageConfig struct {
	Docker struct {
		Config struct {
			User         string
			Env          []string
			Entrypoint   []string
			Cmd          []string
			WorkingDir   string
			ExposedPorts map[string]struct{}
			Volumes      map[string]struct{}
			Healthcheck  *struct{ Test []string }
		} `json:"config"`
	}
}

// TestContainerImage builds the Dockerfile's final stage with buildah from
// a binary built here the way its build stage builds it (the golang image
// of the build stage cannot be pulled here), then runs the image's own
// filesystem as its user, on a read-only root with the data volume
// writable, with the image's environment: it serves, answers its
// HEALTHCHECK command, takes a signed webhook and enrolls the learner, and
// keeps its SQLite file on the volume. The image holds the binary, CA
// certificates, passwd/group and the data directory, and nothing else:
// no shell, no package manager.
func TestContainerImage(t *testing.T) {
	imagePrerequisites(t)
	began := time.Now()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()

	// The build context: what the build stage leaves in /rootfs and /data.
	ctxDir := filepath.Join(tmp, "context")
	rootfs := filepath.Join(ctxDir, "rootfs")
	for _, d := range []string{"rootfs/etc/ssl/certs", "rootfs/var/lib", "data"} {
		if err := os.MkdirAll(filepath.Join(ctxDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X github.com/openedx-webhook-receiver/webhook-receiver/internal/cli.version="+imageVersion,
		"-o", filepath.Join(rootfs, "webhook-receiver"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The build stage copies Debian's CA bundle (ca-certificates), as
	// installed here by the same package.
	bundle, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("Debian's CA bundle (apt-get install ca-certificates): %v", err)
	}
	files := map[string]string{
		"etc/ssl/certs/ca-certificates.crt": string(bundle),
		"etc/passwd":                        "nonroot:x:65532:65532:webhook-receiver:/var/lib/webhook-receiver:/sbin/nologin\n",
		"etc/group":                         "nonroot:x:65532:\n",
		"Containerfile": "# The Dockerfile's build stage, as its result\nFROM scratch AS build\nCOPY rootfs/ /rootfs/\nCOPY data/ /data/\n\n" +
			finalStage(t, filepath.Join(root, "Dockerfile")),
	}
	for name, content := range files {
		path := filepath.Join(rootfs, name)
		if name == "Containerfile" {
			path = filepath.Join(ctxDir, name)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Build the image on storage of the test's own, removed at the end.
	b := &buildah{t: t, root: filepath.Join(tmp, "storage"), run: filepath.Join(tmp, "run")}
	const tag = "localhost/webhook-receiver:image-test"
	t.Cleanup(func() {
		for _, c := range b.containers {
			b.cmd("umount", c)
			b.cmd("rm", c)
		}
		if _, err := b.cmd("rmi", "--force", tag); err != nil {
			t.Error(err)
		}
	})
	b.must("build", "--isolation", "chroot", "--format", "docker", "--layers=false",
		"-f", filepath.Join(ctxDir, "Containerfile"), "-t", tag, ctxDir)
	built := time.Since(began)

	var inspected imageConfig
	if err := json.Unmarshal([]byte(b.must("inspect", "--type", "image", tag)), &inspected); err != nil {
		t.Fatal(err)
	}
	cfg := inspected.Docker.Config
	if cfg.User != "65532:65532" || !slices.Equal(cfg.Entrypoint, []string{"/webhook-receiver"}) ||
		!slices.Equal(cfg.Cmd, []string{"serve"}) {
		t.Errorf("user %q, entrypoint %q, cmd %q; want 65532:65532, [/webhook-receiver], [serve]", cfg.User, cfg.Entrypoint, cfg.Cmd)
	}
	if _, ok := cfg.ExposedPorts["8000/tcp"]; !ok || len(cfg.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v; want 8000/tcp", cfg.ExposedPorts)
	}
	const dataDir = "/var/lib/webhook-receiver"
	if _, ok := cfg.Volumes[dataDir]; !ok || len(cfg.Volumes) != 1 {
		t.Errorf("volumes %v; want %s", cfg.Volumes, dataDir)
	}
	if cfg.Healthcheck == nil || len(cfg.Healthcheck.Test) < 2 || cfg.Healthcheck.Test[0] != "CMD" {
		t.Fatalf("healthcheck %+v; want CMD [...] (exec form: there is no shell)", cfg.Healthcheck)
	}
	imageEnv := map[string]string{}
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		imageEnv[k] = v
	}
	wantDB := "sqlite:" + dataDir + "/webhook-receiver.db"
	if imageEnv["WEBHOOK_RECEIVER_DATABASE_URL"] != wantDB {
		t.Errorf("WEBHOOK_RECEIVER_DATABASE_URL=%q; want %q", imageEnv["WEBHOOK_RECEIVER_DATABASE_URL"], wantDB)
	}
	_, port, err := net.SplitHostPort(imageEnv["WEBHOOK_RECEIVER_LISTEN"])
	if host, _, _ := net.SplitHostPort(imageEnv["WEBHOOK_RECEIVER_LISTEN"]); err != nil || port != "8000" || (host != "" && host != "0.0.0.0" && host != "::") {
		t.Errorf("WEBHOOK_RECEIVER_LISTEN=%q; want every address, port 8000", imageEnv["WEBHOOK_RECEIVER_LISTEN"])
	}

	// The image's filesystem.
	container := b.must("from", "--pull-never", tag)
	b.containers = append(b.containers, container)
	mnt := b.must("mount", container)
	var tree []string
	filepath.WalkDir(mnt, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		if rel, _ := filepath.Rel(mnt, path); rel != "." {
			tree = append(tree, rel)
		}
		return nil
	})
	wantTree := []string{"etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt",
		"var", "var/lib", "var/lib/webhook-receiver", "webhook-receiver"}
	if !slices.Equal(tree, wantTree) {
		t.Errorf("the image holds %q; want exactly %q", tree, wantTree)
	}
	for _, p := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/apt", "usr/bin/dpkg", "sbin/apk", "usr/bin/curl"} {
		if _, err := os.Lstat(filepath.Join(mnt, p)); err == nil {
			t.Errorf("the image holds /%s", p)
		}
	}
	assertStatic(t, filepath.Join(mnt, "webhook-receiver"))
	assertOwner(t, filepath.Join(mnt, dataDir), 65532)
	assertOwner(t, filepath.Join(mnt, "var/lib"), 0)
	if n, err := countCertificates(filepath.Join(mnt, "etc/ssl/certs/ca-certificates.crt")); err != nil || n < 100 {
		t.Errorf("the image's CA bundle holds %d certificates (%v); want Debian's, over 100", n, err)
	}

	// Run it as a container would: its root read-only, the volume
	// writable, as user 65532, with the image's environment (the port
	// moved, as docker run -p would map it).
	ro := filepath.Join(tmp, "container-root")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	mount(t, mnt, ro, false)
	mount(t, filepath.Join(mnt, dataDir), filepath.Join(ro, dataDir), true)
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("the container's root is not read-only: %v", err)
	}

	lms := edxtest.New(t)
	addr := freeAddr(t)
	_, port, _ = net.SplitHostPort(addr)
	host, _, _ := net.SplitHostPort(imageEnv["WEBHOOK_RECEIVER_LISTEN"])
	env := []string{}
	for _, kv := range cfg.Env {
		if !strings.HasPrefix(kv, "WEBHOOK_RECEIVER_LISTEN=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"WEBHOOK_RECEIVER_LISTEN="+net.JoinHostPort(host, port),
		"WEBHOOK_RECEIVER_LMS_BASE_URL="+lms.URL,
		"WEBHOOK_RECEIVER_OAUTH2_KEY="+lms.ClientID,
		"WEBHOOK_RECEIVER_OAUTH2_SECRET="+lms.ClientSecret,
		"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN=bin.myshopify.com",
		"WEBHOOK_RECEIVER_SHOPIFY_SECRET=bin-secret",
		"WEBHOOK_RECEIVER_LMS_RATE_LIMIT=0",
	)
	inContainer := func(args ...string) *exec.Cmd {
		c := exec.Command("chroot", append([]string{"--userspec=65532:65532", ro}, args...)...)
		c.Env = env
		return c
	}

	out, err := inContainer("/webhook-receiver", "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "webhook-receiver "+imageVersion+" go") {
		t.Errorf("version = %v, %q; want the stamped %s", err, out, imageVersion)
	}

	p := &process{cmd: inContainer(append(cfg.Entrypoint, cfg.Cmd...)...), url: "http://" + addr, logs: &lockedBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-exited
	})

	// The image's HEALTHCHECK command, run in the container, until it
	// passes: it fails while the service starts.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := inContainer(cfg.Healthcheck.Test[1:]...).CombinedOutput()
		if err == nil {
			want := "healthy: GET http://127.0.0.1:" + port + "/readyz answered 200 OK: ready\n"
			if host == "::" {
				want = "healthy: GET http://[::1]:" + port + "/readyz answered 200 OK: ready\n"
			}
			if string(out) != want {
				t.Errorf("healthcheck printed %q; want %q", out, want)
			}
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("serve exited: %v\n%s", err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the healthcheck never passed: %v, %s\nserve:\n%s", err, out, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A signed webhook from outside the container; the learner is enrolled.
	if status, err := p.sendOrder(4242, "course-v1:Org+Bin+1", "learner@example.com"); err != nil || status != 200 {
		t.Fatalf("signed webhook: %d, %v\n%s", status, err, p.logs)
	}
	waitEnrolled(t, lms, []string{"learner@example.com"}, 30*time.Second)

	// SIGTERM, as docker stop sends it: the service exits 0.
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("serve after SIGTERM: %v\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop on SIGTERM:\n%s", p.logs)
	}
	// The service's failed healthcheck says why, on one line.
	out, err = inContainer(cfg.Healthcheck.Test[1:]...).CombinedOutput()
	if err == nil || strings.Count(string(out), "\n") != 1 || !strings.Contains(string(out), "unhealthy: GET ") {
		t.Errorf("healthcheck of a stopped service = %v, %q; want exit 1 and one line", err, out)
	}

	// The image's settings give no warning.
	if logs := p.logs.String(); strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") {
		t.Errorf("serve warned:\n%s", logs)
	}
	// The database is on the volume, the service's own, and holds the order.
	dbFile := filepath.Join(mnt, dataDir, "webhook-receiver.db")
	assertOwner(t, dbFile, 65532)
	db, err := store.Open(context.Background(), "sqlite:"+dbFile, store.Options{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	o, err := db.FindOrder(context.Background(), enroll.Shopify, "bin.myshopify.com", 4242)
	db.Close()
	if err != nil || len(o.Items) != 1 || o.Items[0].Status != enroll.ItemEnrolled {
		t.Errorf("order 4242 in %s: %+v, %v; want one enrolled item", dbFile, o.Items, err)
	}
	t.Logf("image %s: %s; built in %s, whole test %s", tag, b.must("images", "--format", "{{.Size}}", tag),
		built.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// mount bind-mounts src on dst, read-only unless writable, until the test
// ends.
func mount(t *testing.T, src, dst string, writable bool) {
	t.Helper()
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount %s on %s: %v", src, dst, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dst, 0); err != nil {
			t.Errorf("unmount %s: %v", dst, err)
		}
	})
	if !writable {
		if err := syscall.Mount("", dst, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Fatalf("remount %s read-only: %v", dst, err)
		}
	}
}

// assertStatic fails unless the file is an ELF executable that needs no
// dynamic loader or shared library (scratch has none).
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked (%s)", path, p.Type)
		}
	}
}

// countCertificates parses a PEM bundle and counts its certificates.
func countCertificates(path string) (int, error) {
	rest, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return n, nil
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return n, err
		}
		n++
	}
}

// assertOwner fails unless the file belongs to uid and gid.
func assertOwner(t *testing.T, path string, id uint32) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Sys().(*syscall.Stat_t); s.Uid != id || s.Gid != id {
		t.Errorf("%s belongs to %d:%d; want %d:%d", path, s.Uid, s.Gid, id, id)
	}
}
