package main

import (
	"archive/tar"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ociBlob reads blob digest ("sha256:…") of the OCI layout dir into v (when
// v is not nil) and returns its bytes.
func ociBlob(t *testing.T, dir, digest string, v any) []byte {
	t.Helper()
	algo, hex, ok := strings.Cut(digest, ":")
	if !ok || algo != "sha256" || strings.ContainsAny(hex, "/.") {
		t.Fatalf("bad digest %q in %s", digest, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "blobs", algo, hex))
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("blob %s: %v", digest, err)
		}
	}
	return b
}

// unpackLayer extracts one gzip'd layer tarball into root, refusing any
// entry that would land outside it.
func unpackLayer(t *testing.T, layer []byte, root string) {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(string(layer)))
	if err != nil {
		t.Fatalf("layer is not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Clean(h.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			t.Fatalf("layer entry %q escapes the root", h.Name)
		}
		p := filepath.Join(root, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Fatalf("layer entry %q: unexpected type %c", h.Name, h.Typeflag)
		}
	}
}

// TestImageRunsFromItsUnpackedLayers reads the image `make image` wrote
// (bin/image, an OCI image layout), unpacks its layers into a directory and
// runs the entrypoint from there; it checks the config (a non-root user, the
// entrypoint, the CA bundle it points at) and that the binary is static, so
// it runs on the empty base.
func TestImageRunsFromItsUnpackedLayers(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "bin", "image")
	var index struct {
		Manifests []struct {
			MediaType   string            `json:"mediaType"`
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("no image at %s (run `make image`): %v", dir, err)
	}
	if err := json.Unmarshal(b, &index); err != nil {
		t.Fatalf("%s/index.json: %v", dir, err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("want one OCI image manifest in %s/index.json, got %+v", dir, index.Manifests)
	}
	if ref := index.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref == "" {
		t.Errorf("the manifest has no org.opencontainers.image.ref.name annotation")
	}
	var manifest struct {
		Config struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"config"`
		Layers []struct {
			MediaType string `json:"mediaType"`
			Digest    string `json:"digest"`
		} `json:"layers"`
	}
	ociBlob(t, dir, index.Manifests[0].Digest, &manifest)
	var config struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Config       struct {
			User       string   `json:"User"`
			Entrypoint []string `json:"Entrypoint"`
			Env        []string `json:"Env"`
		} `json:"config"`
	}
	ociBlob(t, dir, manifest.Config.Digest, &config)
	if config.OS != "linux" || config.Architecture == "" {
		t.Errorf("platform %s/%s, want linux/<arch>", config.OS, config.Architecture)
	}
	user, _, _ := strings.Cut(config.Config.User, ":")
	if user == "" || user == "0" || user == "root" {
		t.Errorf("config.User %q: want a non-root numeric uid", config.Config.User)
	}
	if len(config.Config.Entrypoint) != 1 || config.Config.Entrypoint[0] != "/usr/local/bin/ramp" {
		t.Errorf("config.Entrypoint %q, want [/usr/local/bin/ramp]", config.Config.Entrypoint)
	}
	if len(manifest.Layers) == 0 {
		t.Fatal("the image has no layers")
	}

	// The tarball `docker load` reads holds the same config and layers, tagged.
	checkImageTarball(t, filepath.Join(root, "bin", "ramp-image.tar"), manifest.Config.Digest, len(manifest.Layers))

	rootfs := t.TempDir()
	for _, l := range manifest.Layers {
		if l.MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Fatalf("layer %s has media type %s", l.Digest, l.MediaType)
		}
		unpackLayer(t, ociBlob(t, dir, l.Digest, nil), rootfs)
	}

	// The CA bundle the config points at is in the image, and holds certificates.
	env := map[string]string{}
	for _, kv := range config.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	ca, err := os.ReadFile(filepath.Join(rootfs, env["SSL_CERT_FILE"]))
	if env["SSL_CERT_FILE"] == "" || err != nil {
		t.Errorf("SSL_CERT_FILE=%q: %v", env["SSL_CERT_FILE"], err)
	} else if n := strings.Count(string(ca), "BEGIN CERTIFICATE"); n < 10 {
		t.Errorf("%s holds %d certificates", env["SSL_CERT_FILE"], n)
	}
	// The user exists in the image's passwd (tools that look the uid up find it).
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc", "passwd"))
	if err != nil || !strings.Contains(string(passwd), ":"+user+":") {
		t.Errorf("/etc/passwd has no entry for uid %s: %v\n%s", user, err, passwd)
	}

	// Static: no program interpreter (the empty base has no libc).
	bin := filepath.Join(rootfs, config.Config.Entrypoint[0])
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("entrypoint: %v", err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (PT_INTERP): build it with CGO_ENABLED=0", config.Config.Entrypoint[0])
		}
	}
	f.Close()

	// Every command under cmd/ is in the image, beside the entrypoint.
	cmds, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if !c.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(rootfs, "usr", "local", "bin", c.Name())); err != nil {
			t.Errorf("cmd/%s is not in the image (run `make image`): %v", c.Name(), err)
		}
	}

	cmd := exec.Command(bin, "--help")
	cmd.Dir = rootfs
	cmd.Env = []string{"HOME=" + rootfs, "SSL_CERT_FILE=" + filepath.Join(rootfs, env["SSL_CERT_FILE"])}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", bin, err, out)
	}
	for _, want := range []string{"Git-native progressive delivery", "controller"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ramp --help from the image does not say %q:\n%s", want, out)
		}
	}
	// `ramp version` is engineer cli's (issue 13); where the binary has it,
	// the image's binary prints its version, commit and Go version.
	if regexp.MustCompile(`(?m)^\s+version\s`).Match(out) {
		cmd := exec.Command(bin, "version")
		cmd.Dir, cmd.Env = rootfs, []string{"HOME=" + rootfs}
		v, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(v), "ramp ") || !strings.Contains(string(v), "go1.") {
			t.Errorf("ramp version from the image: %v\n%s", err, v)
		}
	}
}

// TestDockerfileBuildsTheImageMakeImageBuilds checks the Dockerfile (built
// only where a daemon runs, never here) against what make image's test
// checks: the final stage is the empty base, static binaries, the CA bundle,
// the same non-root user and entrypoint.
func TestDockerfileBuildsTheImageMakeImageBuilds(t *testing.T) {
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages []string // the instructions of each stage, joined
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			stages = append(stages, "")
		}
		if len(stages) > 0 {
			stages[len(stages)-1] += line + "\n"
		}
	}
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage Dockerfile, found %d stage(s)", len(stages))
	}
	build, final := strings.Join(stages[:len(stages)-1], ""), stages[len(stages)-1]
	for _, want := range []string{"CGO_ENABLED=0", "for d in cmd/*/", "./cmd/$b", "/etc/ssl/certs/ca-certificates.crt", "nonroot:x:65532:65532:"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build stage does not contain %q", want)
		}
	}
	for _, want := range []string{"FROM scratch\n", "USER 65532:65532\n", `ENTRYPOINT ["/usr/local/bin/ramp"]` + "\n", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"} {
		if !strings.Contains(final, want) {
			t.Errorf("the final stage does not contain %q:\n%s", want, final)
		}
	}
}

// checkImageTarball reads the `docker load` tarball make image writes: one
// image, tagged, whose config is the OCI layout's and with as many layers.
func checkImageTarball(t *testing.T, file, config string, layers int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("no image tarball (run `make image`): %v", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no manifest.json", file)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct {
			Config   string
			RepoTags []string
			Layers   []string
		}
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatalf("%s manifest.json: %v", file, err)
		}
		if len(m) != 1 || len(m[0].RepoTags) != 1 || !strings.Contains(m[0].Config, strings.TrimPrefix(config, "sha256:")) || len(m[0].Layers) != layers {
			t.Errorf("%s manifest.json %+v: want one tagged image with config %s and %d layer(s)", file, m, config, layers)
		}
		return
	}
}
