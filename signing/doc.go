// Package signing signs ramp's commits and verifies everyone's.
//
// A CommitSigner (LoadSigner, ParseSigner) signs with an OpenPGP or an SSH
// key, as `git commit -S` does, so `git verify-commit` accepts the result.
// A Keyring holds the public keys each group trusts (LoadKeyring from an
// fs.FS of <group>.allowed_signers and <group>.asc files, or Trust for
// ramp's own key) and Verify tells who signed a commit and in which
// groups. Keys come from the cluster, never from the release repository.
package signing
