// Package history reads a release branch's first-parent history into
// rollout states. It is shell: it reads git objects and verifies
// signatures, and leaves every judgement to policy.
//
// One first-parent walk serves every reader: a Deriver derives each
// rollout's state from scratch (Derive, back only to the start of each
// release in flight) or from an earlier Snapshot (Update, only the new
// commits), and audits one rollout's whole history (AuditRollout).
// Commits are compared by the blob hashes of the files a rollout manages,
// never by tree diffs. Descends answers whether a revision (such as the
// one Flux applied) contains a given commit.
package history
