package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// repoFlags are the flags every command that reads a release repository takes.
type repoFlags struct {
	repo       string
	branch     string
	approvers  string
	guardrails string
	outputFlag
	cache      string
	sshKey     string
	knownHosts string
	// commandsRef is the branch people push signed commands to when
	// they may not push to the release branch.
	commandsRef string
	// depth is how many commits the shallow clone of a URL fetches first
	// (0: shallowDepth; run's --clone-depth), and full asks for a full
	// clone instead (run's --clone-depth 0).
	depth int
	full  bool
	cmd   *cobra.Command
}

// Which repository flags a command offers: a flag that means nothing for
// a command is not offered there.
const (
	withBranch      = 1 << iota // --branch: commands that read git history
	withRemote                  // --cache-dir, --ssh-key, --known-hosts: commands that take a URL
	withTrust                   // --approvers
	withCommandsRef             // --commands-ref
	withGuardrails              // --guardrails

	// readFlags are those of status, plan, run and audit.
	readFlags = withBranch | withRemote | withTrust | withCommandsRef | withGuardrails
	// commandFlags are those of approve, abort, pause and resume, which
	// commit in a working copy.
	commandFlags = withBranch | withTrust | withCommandsRef | withGuardrails
)

// add offers the repository flags of a command that reads history, and -o.
func (f *repoFlags) add(cmd *cobra.Command) {
	f.addFlags(cmd, readFlags)
	f.outputFlag.add(cmd)
}

// addFlags offers --repo and the repository flags which names, without -o
// (for commands that print no structured output, or offer other formats).
func (f *repoFlags) addFlags(cmd *cobra.Command, which int) {
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", ".", "release repository: a local clone, or a URL (file://, https://, ssh://)")
	f.branch = "main"
	if which&withBranch != 0 {
		fl.StringVar(&f.branch, "branch", "main", "release branch")
	}
	if which&withTrust != 0 {
		fl.StringVar(&f.approvers, "approvers", "", "directory of trusted keys: <group>.allowed_signers and/or <group>.asc; ramp.* are ramp's own (default: $RAMP_APPROVERS, else approvers: in the config file)")
	}
	if which&withGuardrails != 0 {
		fl.StringVar(&f.guardrails, "guardrails", "", "guardrails file (YAML); default: built-in guardrails")
	}
	if which&withRemote != 0 {
		fl.StringVar(&f.cache, "cache-dir", "", "where clones of URLs are kept (default: the user cache dir)")
		fl.StringVar(&f.sshKey, "ssh-key", "", "private key for ssh:// URLs")
		fl.StringVar(&f.knownHosts, "known-hosts", "", "known_hosts file for ssh:// URLs (default ~/.ssh/known_hosts)")
	}
	if which&withCommandsRef != 0 {
		fl.StringVar(&f.commandsRef, "commands-ref", "", "branch where people push signed commands when the release branch is protected, e.g. ramp/commands")
	}
}

// check checks -o and fills --approvers from $RAMP_APPROVERS or the
// config file when it is not given.
func (f *repoFlags) check() error {
	if err := f.outputFlag.check(); err != nil {
		return err
	}
	return resolveTrust(f.cmd, &f.approvers)
}

// isURL reports whether s names a remote rather than a local directory.
func isURL(s string) bool {
	return strings.Contains(s, "://") || (strings.Contains(s, "@") && strings.Contains(s, ":"))
}

// shallowDepth is how many commits the first clone of a read-only
// command (status, plan) fetches; a derive that walks further deepens it.
const shallowDepth = gitsync.DefaultCloneDepth

// open opens the release repository: a local clone as it is, or a URL
// through one persistent clone in the cache directory, fetched. With
// shallow (status, plan and run: every command that walks only back to
// the releases in flight) the clone is a separate shallow one of
// f.depth commits (gitsync.OpenShallow), deepened on demand; audit, which
// reads a rollout's whole history, keeps a full clone.
func (f *repoFlags) open(ctx context.Context, shallow bool) (*gitsync.Repo, error) {
	if !isURL(f.repo) {
		return gitsync.OpenLocal(f.repo, f.branch)
	}
	dir := f.cache
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache dir for the clone of %s: %w (set --cache-dir)", f.repo, err)
		}
		dir = filepath.Join(base, "ramp")
	}
	sum := sha256.Sum256([]byte(f.repo + "#" + f.branch))
	dir = filepath.Join(dir, hex.EncodeToString(sum[:8]))
	auth := gitsync.Auth{
		Username:       os.Getenv("RAMP_GIT_USERNAME"),
		Password:       os.Getenv("RAMP_GIT_PASSWORD"),
		SSHKeyPath:     f.sshKey,
		KnownHostsPath: f.knownHosts,
	}
	if auth.Password != "" && auth.Username == "" {
		auth.Username = "git"
	}
	if auth.KnownHostsPath == "" && strings.HasPrefix(f.repo, "ssh://") {
		if home, err := os.UserHomeDir(); err == nil {
			auth.KnownHostsPath = filepath.Join(home, ".ssh", "known_hosts")
		}
	}
	if shallow && !f.full {
		depth := f.depth
		if depth <= 0 {
			depth = shallowDepth
		}
		return gitsync.OpenShallow(ctx, f.repo, dir+".shallow", f.branch, auth, depth)
	}
	return gitsync.Open(ctx, f.repo, dir, f.branch, auth)
}

// keyring loads the trusted keys, or nil when --approvers is not set: then
// no command and no ramp commit can verify, and rollouts hold.
func (f *repoFlags) keyring() (*signing.Keyring, error) {
	if f.approvers == "" {
		return nil, nil
	}
	if !isURL(f.repo) {
		dir, err1 := filepath.Abs(f.approvers)
		repo, err2 := filepath.Abs(f.repo)
		if rel, err := filepath.Rel(repo, dir); err1 == nil && err2 == nil && err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("the trusted keys %s are inside the release repository %s: trust must not come from the repository it guards; keep them outside it", f.approvers, f.repo)}
		}
	}
	k, err := signing.LoadKeyringDir(f.approvers)
	if err != nil {
		return nil, fmt.Errorf("--approvers: %w", err)
	}
	return k, nil
}

// guard returns the guardrails from --guardrails or the defaults. A
// guardrails file inside the working copy of --repo is repository content
// and read as git stores it: a link there is refused, never followed.
func (f *repoFlags) guard() (policy.Guardrails, error) {
	if f.guardrails == "" {
		return policy.DefaultGuardrails(), nil
	}
	if !isURL(f.repo) {
		wt := workTree{f.repo}
		if rel, inside := wt.Inside(f.guardrails); inside {
			data, err := wt.ReadFile(rel)
			if err != nil {
				return policy.Guardrails{}, &exitError{code: exitUsage, err: fmt.Errorf("--guardrails: %w", err)}
			}
			return policy.ParseGuardrails(f.guardrails, data)
		}
	}
	return readGuardrails(f.guardrails)
}

// guardFor returns guard's guardrails with every group they require
// checked against keys, the trusted keys of --approvers (nil: no keys
// given, nothing to check against): a group without keys is an error
// naming the guardrails file, line and field, as a value that does not
// parse is.
func (f *repoFlags) guardFor(keys *signing.Keyring) (policy.Guardrails, error) {
	g, err := f.guard()
	if err != nil || keys == nil {
		return g, err
	}
	if err := g.CheckGroups(keys.Groups()).Err(); err != nil {
		return policy.Guardrails{}, fmt.Errorf("%w\n(the guardrails name groups the trusted keys of --approvers %s do not have: add a <group>.allowed_signers or <group>.asc, or fix the guardrails)", err, f.approvers)
	}
	return g, nil
}

// readGuardrails reads the guardrails file of --guardrails.
func readGuardrails(path string) (policy.Guardrails, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return policy.Guardrails{}, fmt.Errorf("--guardrails: %w", err)
	}
	return policy.ParseGuardrails(path, data)
}

// loop opens the repository and builds its loop from cfg, with the keys
// of --approvers and the guardrails of --guardrails. trust, when set, is
// trusted as ramp's own key.
func (f *repoFlags) loop(ctx context.Context, cfg gitsync.Config, trust signing.CommitSigner) (*gitsync.Loop, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	// Status and plan (a dry run) and run (the loop that commits and
	// pushes) walk back only to the releases in flight: a shallow clone
	// deepened on demand gives them a full clone's answers.
	repo, err := f.open(ctx, cfg.DryRun || cfg.Signer != nil)
	if err != nil {
		return nil, err
	}
	if cfg.Keys, err = f.keyring(); err != nil {
		return nil, err
	}
	if cfg.Guardrails, err = f.guardFor(cfg.Keys); err != nil {
		return nil, err
	}
	cfg.CommandsRef = f.commandsRef
	if trust != nil {
		if cfg.Keys == nil {
			cfg.Keys = signing.NewKeyring()
		}
		cfg.Keys.Trust(policy.RampGroup, trust)
	}
	l := gitsync.NewLoop(repo, cfg)
	// A shallow clone gives a full one's answers: the walks deepen it
	// when they reach its boundary (a full clone has nothing to deepen).
	l.Deriver().Deepen = func() (bool, error) { return repo.Deepen(ctx) }
	return l, nil
}

// deriver opens everything a read-only command needs.
func (f *repoFlags) deriver(ctx context.Context) (*gitsync.Repo, *history.Deriver, error) {
	l, err := f.loop(ctx, gitsync.Config{}, nil)
	if err != nil {
		return nil, nil, err
	}
	return l.Repo(), l.Deriver(), nil
}
