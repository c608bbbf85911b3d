package main

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

//go:embed all:example
var example embed.FS

// initGuardrailsFile is the guardrails file ramp init writes, outside
// releases/: the safe choice, requireSignedStart on.
const initGuardrailsFile = "guardrails.yaml"

const initGuardrails = `# ramp's guardrails, scaffolded by ramp init: the platform's limits on every
# rollout spec. ramp reads them with --guardrails (ramp run --guardrails
# guardrails.yaml); in a cluster they are the chart's guardrails value or a
# ReleaseRepository's spec.guardrails. Keep the copy ramp runs with where only
# the platform team can change it: here anyone who can push to main can.
#
# requireSignedStart holds a release whose start commit (or a commit it merged
# in) is not signed by a trusted key: without signatures, separation of duties
# (no one approves their own change) cannot be verified. Sign with git's SSH
# signing (or OpenPGP: git config user.signingkey KEYID), with the key in the
# approvers' <group>.allowed_signers:
#   git config gpg.format ssh
#   git config user.signingkey ~/.ssh/id_ed25519.pub
#   git commit -S          (git merge -S for the merge of a pull request)
# Opting out (false) lets any approver, the change's author included, approve;
# ramp status and ramp audit then say separation of duties was not verified.
requireSignedStart: true
`

func newInit() *cobra.Command {
	var rollout, from string
	cmd := &cobra.Command{
		Use:   "init DIR | init --rollout NAME --from DIR [REPO]",
		Short: "Create a release repository with an example rollout, or scaffold a rollout for an app already in one",
		Long: `ramp init DIR creates a new release repository on branch main with a working
example rollout, demo (DIR must be empty or absent), and guardrails.yaml, the
guardrails to pass with --guardrails: requireSignedStart on, so a release whose
start is not signed by a trusted key holds.

ramp init --rollout NAME --from DIR, run in an existing release repository (or
with REPO naming it), reads the manifests under DIR (a Kustomize directory) and
writes releases/NAME/rollout.yaml from them: the release and stable fields
(Kustomize images[name=…].newTag or .digest, or a Deployment's container image)
of the canary and stable sides, and the HTTPRoute whose backends split traffic
between them. It then validates the new spec as ramp validate does and prints
what it chose, what to check and the next steps. Nothing is committed.

Exit codes: 0 written (or created), 1 written but it does not validate, 2 usage
or nothing to scaffold from (it says what is missing).`,
		Example: `  ramp init release-repo                          # a new repository with the example rollout demo
  cd fleet && ramp init --rollout shop --from apps/shop   # a rollout for an app already there`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if rollout != "" || from != "" {
				repo := "."
				if len(args) == 1 {
					repo = args[0]
				}
				if rollout == "" || from == "" {
					return &exitError{code: exitUsage, err: fmt.Errorf("--rollout and --from go together: ramp init --rollout NAME --from DIR")}
				}
				return scaffoldRollout(cmd.OutOrStdout(), repo, rollout, from)
			}
			if len(args) != 1 {
				return &exitError{code: exitUsage, err: fmt.Errorf("ramp init DIR creates a new release repository; ramp init --rollout NAME --from DIR adds a rollout to this one")}
			}
			dir := args[0]
			if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("%s is not empty: ramp init DIR only creates a new release repository with an example rollout.\n"+
					"To add ramp to the repository that is already there, scaffold a rollout from an app's manifests:\n"+
					"  cd %s && ramp init --rollout NAME --from apps/NAME\n"+
					"To try ramp first, create a new one elsewhere: ramp init ramp-example", dir, dir)}
			}
			err := fs.WalkDir(example, "example", func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := example.ReadFile(path)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel("example", path)
				dst := filepath.Join(dir, rel)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				return os.WriteFile(dst, data, 0o644)
			})
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, initGuardrailsFile), []byte(initGuardrails), 0o644)
			}
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("write example: %w", err)}
			}
			for _, args := range [][]string{
				{"init", "-q", "-b", "main"},
				{"add", "-A"},
				{"-c", "user.name=ramp init", "-c", "user.email=ramp-init@localhost", "commit", "-q", "-m", "ramp init: example rollout demo"},
			} {
				c := exec.Command("git", args...)
				c.Dir = dir
				if out, err := c.CombinedOutput(); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created release repository %s (branch main) with rollout demo:\n"+
				"  release field  apps/demo/canary/kustomization.yaml images[name=demo].newTag\n"+
				"  stable field   apps/demo/stable/kustomization.yaml images[name=demo].newTag\n"+
				"  traffic        apps/demo/route.yaml (demo-stable / demo-canary)\n"+
				"  steps          setWeight 10, approval by sre, setWeight 50, approval by sre, promote\n"+
				"  guardrails     %[2]s: requireSignedStart: true holds a release whose start is not signed\n"+
				"                 by a trusted key (it says how to sign); use it: ramp run --guardrails %[2]s\n", dir, initGuardrailsFile)
			return nil
		},
	}
	cmd.Flags().StringVar(&rollout, "rollout", "", "name of the rollout to scaffold in an existing repository (releases/NAME/rollout.yaml)")
	cmd.Flags().StringVar(&from, "from", "", "the app's Kustomize directory, relative to the repository, to scaffold the rollout from")
	return cmd
}
