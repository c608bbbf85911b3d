package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBadFlagsFailBeforeLookingForTheCluster(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--watch-label-selector", "sharding.fluxcd.io/key in (shard1"}, `--watch-label-selector "sharding.fluxcd.io/key in (shard1": unable to parse requirement`},
		{[]string{"--watch-label-selector", "a b"}, `--watch-label-selector "a b"`},
		{[]string{"--log-level", "loud"}, `--log-level "loud": want debug, info, warn or error`},
		{[]string{"extra"}, `unknown command "extra"`},
	} {
		// No kubeconfig: a flag error must come first, and say which flag.
		t.Setenv("KUBECONFIG", t.TempDir()+"/absent")
		cmd := newCommand()
		cmd.SetArgs(c.args)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ramp-controller %v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
