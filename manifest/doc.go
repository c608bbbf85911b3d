// Package manifest edits the files a rollout manages, keeping their format:
// only the bytes of an edited scalar change, comments and quoting stay.
// It is pure: file contents in, file contents out.
//
// GetField and SetField read and write one scalar at a field path
// (policy.FieldPath, e.g. images[name=demo].newTag); RouteWeights and
// SetRouteWeights read and write the stable/canary backend weights of a
// Gateway API HTTPRoute; Weight and Edits apply a planner decision to a
// rollout's files.
package manifest
