package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// outputFlag is -o/--output: one flag, the same values and the same
// structured encodings (JSON, and YAML with the JSON field names) on every
// command that prints something structured.
type outputFlag struct {
	format  string
	formats []string // what this command offers; the first is the default
}

// add offers -o on cmd with formats (default text, json, yaml), the first
// being the default, and completes its values.
func (o *outputFlag) add(cmd *cobra.Command, formats ...string) {
	if len(formats) <= 1 {
		formats = []string{"text", "json", "yaml"}
	}
	o.formats = formats
	cmd.Flags().StringVarP(&o.format, "output", "o", formats[0], "output format: "+strings.Join(formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// check refuses a format the command does not offer.
func (o *outputFlag) check() error {
	if o.formats == nil {
		o.formats = []string{"text", "json", "yaml"}
	}
	if o.format == "" {
		o.format = o.formats[0]
	}
	if !slices.Contains(o.formats, o.format) {
		return &exitError{code: exitUsage, err: fmt.Errorf("-o %s: want %s", o.format, strings.Join(o.formats, ", "))}
	}
	return nil
}

// structured reports whether the output is JSON or YAML.
func (o *outputFlag) structured() bool { return o.format == "json" || o.format == "yaml" }

// write encodes v as JSON or YAML, as -o asks.
func (o *outputFlag) write(w io.Writer, v any) error {
	if o.format == "yaml" {
		return writeYAML(w, v)
	}
	return writeJSON(w, v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeYAML writes v as YAML with the same field names as its JSON.
func writeYAML(w io.Writer, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// outputFile opens --output-file, or returns w when it is empty.
func outputFile(w io.Writer, path string) (io.Writer, func() error, error) {
	if path == "" {
		return w, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, &exitError{code: exitUsage, err: fmt.Errorf("--output-file: %w", err)}
	}
	return f, f.Close, nil
}
