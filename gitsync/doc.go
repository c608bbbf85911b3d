// Package gitsync is ramp's shell towards git: clone/fetch, history walk,
// trailers, signatures and the committer.
package gitsync
