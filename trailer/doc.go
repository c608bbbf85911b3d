// Package trailer is the codec of commit-message trailers and ramp's
// vocabulary in them. It is pure: strings in, values out.
//
// The codec reads and writes trailer blocks as `git interpret-trailers`
// does (Parse, Append). The vocabulary turns ramp's decisions into
// trailers and back (ForEntry, ParseRecord: Ramp-Rollout, Ramp-Step,
// Ramp-Action, Ramp-Gate, Ramp-Approved-By, …) and people's commands
// (ForCommand: Ramp-Approve, Ramp-Abort, Ramp-Pause, Ramp-Resume), whose
// values are space-separated key=value fields, quoted where needed.
package trailer
