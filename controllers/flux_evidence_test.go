package controllers

import "testing"

func TestRevisionSHAReadsFluxRevisionFormats(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for rev, want := range map[string]string{
		"main@sha1:" + sha:       sha,
		"sha1:" + sha:            sha,
		"main/" + sha:            sha,
		"release/v2@sha1:" + sha: sha,
		"main":                   "",
		"":                       "",
	} {
		if got := revisionSHA(rev); got != want {
			t.Errorf("revisionSHA(%q) = %q, want %q", rev, got, want)
		}
	}
}
