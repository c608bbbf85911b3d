// Package manifest edits the files a rollout manages, keeping their format:
// only the bytes of an edited scalar change, comments and quoting stay.
// It is pure: file contents in, file contents out.
//
// GetField reads one scalar at a field path (policy.FieldPath, e.g.
// images[name=demo].newTag); Weight reads a rollout's canary weight (the
// canary backend of a Gateway API HTTPRoute, or a plain field); Edits
// applies a planner decision to a rollout's files.
package manifest
