package policy

import (
	"maps"
	"slices"
)

// How to sign a release's start, for the hold of guardrail
// requireSignedStart: git signs with an SSH key or an OpenPGP key, and
// the key must be in the approvers' allowed_signers (or .asc) files.
const signStartHowTo = "sign the commit that starts the release (and the merge that brings it in) with a key in the approvers' files: " +
	"SSH: git config gpg.format ssh; git config user.signingkey ~/.ssh/id_ed25519.pub; git commit -S (git merge -S); " +
	"OpenPGP: git config user.signingkey KEYID; git commit -S; " +
	"then start the release again from a signed commit. To opt out, set requireSignedStart: false in the guardrails: separation of duties is then not verified"

// unsignedStartHold is the reason guardrail requireSignedStart holds
// release s, whose start is not verified: what is unverified, how to sign
// and how to opt out.
func unsignedStartHold(s *State) string {
	return "guardrail requireSignedStart: separation of duties cannot be verified for release " + s.Release + ": " +
		s.StartUnverified + "; " + signStartHowTo
}

// SeparationOfDuties is the note status and audit show on a release in
// progress whose start is not verified while guardrail requireSignedStart
// is off: separation of duties (no approver approves their own change)
// was not verified, and why. "" when the start is verified, when no
// release is in progress, and when the guardrail is on (it holds the
// release and says so).
func SeparationOfDuties(s State, g Guardrails) string {
	if s.StartUnverified == "" || g.RequireSignedStart || !s.InProgress() {
		return ""
	}
	return "separation of duties not verified for release " + s.Release + ": " + s.StartUnverified +
		" (guardrail requireSignedStart is off: any approver, its author included, may approve; turn it on to hold such a release)"
}

// fleetSeparationOfDuties is SeparationOfDuties for a rollout with
// targets: the note of the first target whose release is in progress
// (every target shares the fleet's start).
func fleetSeparationOfDuties(fs FleetState, g Guardrails) string {
	for _, t := range slices.Sorted(maps.Keys(fs.Targets)) {
		s := fs.Targets[t]
		if s.StartUnverified == "" {
			s.StartUnverified = fs.StartUnverified
		}
		if note := SeparationOfDuties(s, g); note != "" {
			return note
		}
	}
	return ""
}
