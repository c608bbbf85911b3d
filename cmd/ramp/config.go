package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/ramp-dev/ramp/policy"
)

// userConfig is the per-user configuration file,
// $XDG_CONFIG_HOME/ramp/config.yaml (or $RAMP_CONFIG): where the trusted
// keys and Prometheus are, so that they need not be passed on every
// command. Trust never comes from the release repository it guards: the
// file lives in the user's config directory, never in --repo.
type userConfig struct {
	// Approvers is the directory of trusted keys (--approvers); a
	// relative path is relative to the config file's directory.
	Approvers string `yaml:"approvers"`
	// Prometheus is the address of --prometheus.
	Prometheus string `yaml:"prometheus"`
}

// configPath is the config file's path: $RAMP_CONFIG, or config.yaml
// under ramp in the user's config directory.
func configPath() string {
	if p := os.Getenv("RAMP_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ramp", "config.yaml")
}

// configHint names the config file in messages.
func configHint() string {
	if p := configPath(); p != "" {
		return p
	}
	return "$XDG_CONFIG_HOME/ramp/config.yaml"
}

// loadConfig reads the config file; a missing file is an empty config.
// Unknown fields are errors, naming the file and line.
func loadConfig() (userConfig, error) {
	var c userConfig
	p := configPath()
	if p == "" {
		return c, nil
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, &exitError{code: exitUsage, err: fmt.Errorf("config file: %w", err)}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, &exitError{code: exitUsage, err: fmt.Errorf("%s: %v (want approvers: DIR, prometheus: URL)", p, err)}
	}
	if c.Approvers != "" && !filepath.IsAbs(c.Approvers) {
		c.Approvers = filepath.Join(filepath.Dir(p), c.Approvers)
	}
	return c, nil
}

// setting returns a setting's value and where it came from: the flag
// when given, else the environment variable, else the config file.
func setting(cmd *cobra.Command, flag, flagValue, env, fromFile string) (string, string) {
	if cmd != nil && cmd.Flags().Changed(flag) || flagValue != "" {
		return flagValue, "--" + flag
	}
	if v := os.Getenv(env); v != "" {
		return v, "$" + env
	}
	if fromFile != "" {
		return fromFile, configHint()
	}
	return "", ""
}

// resolveTrust fills --approvers from $RAMP_APPROVERS or the config file
// when the flag is not given.
func resolveTrust(cmd *cobra.Command, approvers *string) error {
	c, err := loadConfig()
	if err != nil {
		return err
	}
	*approvers, _ = setting(cmd, "approvers", *approvers, "RAMP_APPROVERS", c.Approvers)
	return nil
}

// noTrustedKeys is what status and plan say when no trusted keys are
// configured: nothing verifies, so ramp's own commits count as hand edits.
func noTrustedKeys() string {
	return "no trusted keys are configured (--approvers, $RAMP_APPROVERS or " + configHint() + "): no signature verifies,\n" +
		"so ramp's own commits read as unsigned hand edits, no approval counts and the steps and weights\n" +
		"below are not ramp's. Point it at the directory of trusted keys the controller uses\n" +
		"(<group>.allowed_signers, <group>.asc; " + policy.RampGroup + ".* for ramp's own key)."
}
