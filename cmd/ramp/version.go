package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at build time by the Makefile:
//
//	go build -ldflags "-X main.version=v0.3.0 -X main.commit=$(git rev-parse HEAD)"
//
// When they are not set, buildInfo falls back to what the Go toolchain
// stamped into the binary (the module version, vcs.revision, vcs.modified).
var (
	version = ""
	commit  = ""
)

// buildVersion is what `ramp version` prints.
type buildVersion struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// buildInfo is the binary's version: the ldflags values, else the build
// info's module version and vcs stamp, else "(devel)" and "unknown".
func buildInfo() buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(version, commit, bi)
}

// versionOf is buildInfo for the ldflags values ver and rev and the
// binary's build info bi (nil when there is none).
func versionOf(ver, rev string, bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: ver, Commit: rev, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.modified":
				v.Modified = s.Value == "true" && rev == ""
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

func (v buildVersion) String() string {
	c := v.Commit
	if v.Modified {
		c += " (modified)"
	}
	return fmt.Sprintf("ramp %s\ncommit %s\n%s %s\n", v.Version, c, v.GoVersion, v.Platform)
}

// newVersion is `ramp version`; `ramp --version` prints the same.
func newVersion() *cobra.Command {
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print ramp's version, the commit it was built from and the Go version (for bug reports)",
		Long: "Prints the version and commit `make build` linked in (or, without them, what the Go toolchain\n" +
			"stamped into the binary), the Go version and the platform. `ramp --version` prints the same.\n\n" +
			"Exit codes: 0 ok, 2 usage error.",
		Example: "  ramp version\n" +
			"  ramp version -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			v := buildInfo()
			if o.structured() {
				return o.write(cmd.OutOrStdout(), v)
			}
			fmt.Fprint(cmd.OutOrStdout(), v.String())
			return nil
		},
	}
	o.add(cmd, "text")
	return cmd
}
