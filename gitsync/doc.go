// Package gitsync is ramp's shell towards the release repository: it
// opens the persistent clone (Open, OpenLocal), fetches and pushes as a
// compare-and-swap on the branch tip (Push never forces), authenticates
// (Auth), and runs the loop. NewLoop builds a Loop from a Repo and a
// Config; each Pass fetches, derives (package history), gathers evidence,
// asks policy.Plan, commits the decisions as signed commits with ramp's
// trailers (edits from package manifest, trailers from package trailer,
// signatures from package signing) and pushes them. When the branch moved
// under it, it fetches and plans again.
package gitsync
