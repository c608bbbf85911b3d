// Command image builds ramp's container image without a container daemon
// (make image): an empty base, one layer holding the static binaries, a CA
// bundle and a passwd entry for the non-root user, and a config naming that
// user and the entrypoint. It writes the image as an OCI image layout (a
// directory: push it with `crane push` or `skopeo copy oci:…`) and as a
// tarball `docker load` and `podman load` read.
//
//	image -bin ramp=bin/image-build/ramp -ca /etc/ssl/certs/ca-certificates.crt \
//	      -entrypoint ramp -tag ghcr.io/ramp-dev/ramp:dev -layout bin/image -tar bin/ramp-image.tar
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: the same uid/gid as distroless' "nonroot" and the
// chart's securityContext.
const (
	uid      = 65532
	userName = "nonroot"
	binDir   = "/usr/local/bin"
	caPath   = "/etc/ssl/certs/ca-certificates.crt"
)

// binaries collects repeated -bin name=path flags.
type binaries [][2]string

func (b *binaries) String() string { return fmt.Sprint(*b) }
func (b *binaries) Set(v string) error {
	n, p, ok := strings.Cut(v, "=")
	if !ok || n == "" || p == "" || strings.Contains(n, "/") {
		return fmt.Errorf("-bin %q: want name=path", v)
	}
	*b = append(*b, [2]string{n, p})
	return nil
}

func main() {
	var bins binaries
	flag.Var(&bins, "bin", "name=path of a binary to put into "+binDir+" (repeatable)")
	ca := flag.String("ca", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle to copy to "+caPath)
	entry := flag.String("entrypoint", "ramp", "the binary the image runs")
	tag := flag.String("tag", "ghcr.io/ramp-dev/ramp:dev", "the tag written into the tarball")
	arch := flag.String("arch", runtime.GOARCH, "the platform's architecture (the binaries' GOARCH)")
	created := flag.String("created", "", "the image's creation time (RFC 3339; default: the epoch, for reproducible digests)")
	layoutDir := flag.String("layout", "", "write an OCI image layout to this directory")
	tarFile := flag.String("tar", "", "write a tarball (docker load) to this file")
	flag.Parse()
	if err := build(bins, *ca, *entry, *tag, *arch, *created, *layoutDir, *tarFile); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(bins binaries, ca, entry, tag, arch, created, layoutDir, tarFile string) error {
	if len(bins) == 0 {
		return errors.New("no -bin given")
	}
	if layoutDir == "" && tarFile == "" {
		return errors.New("neither -layout nor -tar given")
	}
	found := false
	for _, b := range bins {
		found = found || b[0] == entry
	}
	if !found {
		return fmt.Errorf("-entrypoint %s is not among the -bin names", entry)
	}
	when := time.Unix(0, 0).UTC()
	if created != "" {
		t, err := time.Parse(time.RFC3339, created)
		if err != nil {
			return fmt.Errorf("-created: %w", err)
		}
		when = t
	}
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		return fmt.Errorf("CA bundle: %w (on Debian: apt-get install ca-certificates)", err)
	}

	layerTar, err := rootfs(bins, caPEM)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return err
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: when}, CreatedBy: "make image", Comment: "ramp binaries, CA bundle, passwd"},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: when}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.Entrypoint = []string{path.Join(binDir, entry)}
	cf.Config.Cmd = nil
	cf.Config.WorkingDir = "/home/" + userName
	cf.Config.Env = []string{
		"PATH=" + binDir + ":/usr/bin:/bin",
		"SSL_CERT_FILE=" + caPath,
		"HOME=/home/" + userName,
	}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "ramp",
		"org.opencontainers.image.description": "git-native progressive delivery for Flux-reconciled clusters",
		"org.opencontainers.image.source":      "https://github.com/ramp-dev/ramp",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}

	if layoutDir != "" {
		if err := os.RemoveAll(layoutDir); err != nil {
			return err
		}
		p, err := layout.Write(layoutDir, empty.Index)
		if err != nil {
			return err
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": tag,
		})); err != nil {
			return fmt.Errorf("write %s: %w", layoutDir, err)
		}
	}
	if tarFile != "" {
		ref, err := name.NewTag(tag)
		if err != nil {
			return fmt.Errorf("-tag: %w", err)
		}
		if err := tarball.WriteToFile(tarFile, ref, img); err != nil {
			return fmt.Errorf("write %s: %w", tarFile, err)
		}
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image %s %s (linux/%s)\n", tag, d, arch)
	return nil
}

// rootfs is the layer: directories, /etc/passwd and /etc/group naming the
// non-root user, the CA bundle, and the binaries, every entry owned by root
// except the user's home, with a fixed time so the digest is reproducible.
func rootfs(bins binaries, caPEM []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dir := func(name string, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, Uid: owner, Gid: owner, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs", "home", "usr", "usr/local", "usr/local/bin"} {
		if err := dir(d, 0); err != nil {
			return nil, err
		}
	}
	if err := dir("home/"+userName, uid); err != nil {
		return nil, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", userName, uid, uid, userName, userName)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", userName, uid)
	if err := file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	if err := file("etc/group", 0o644, []byte(group)); err != nil {
		return nil, err
	}
	if err := file(strings.TrimPrefix(caPath, "/"), 0o644, caPEM); err != nil {
		return nil, err
	}
	for _, b := range bins {
		data, err := os.ReadFile(b[1])
		if err != nil {
			return nil, fmt.Errorf("-bin %s: %w", b[0], err)
		}
		if err := file(strings.TrimPrefix(path.Join(binDir, b[0]), "/"), 0o755, data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
