package policy

import "fmt"

// WaveStatus is where one wave of a rollout with targets stands, for
// status and audit.
type WaveStatus struct {
	Name string `json:"name"`
	// State is waiting (not handed the release), progressing, soaking
	// (every target done, the next wave not started), done, or failed.
	State   string         `json:"state"`
	Targets []TargetStatus `json:"targets"`
}

// TargetStatus is one target's release, phase, step and weight.
type TargetStatus struct {
	Name    string `json:"name"`
	Release string `json:"release"`
	Stable  string `json:"stable"`
	Phase   Phase  `json:"phase"`
	Step    int    `json:"step"`  // 0 when no step is in progress
	Steps   int    `json:"steps"` // the target's steps
	Weight  int    `json:"weight"`
	Failed  bool   `json:"failed,omitempty"`
}

// States of a wave (WaveStatus.State).
const (
	WaveWaiting     = "waiting"
	WaveProgressing = "progressing"
	WaveSoaking     = "soaking"
	WaveDone        = "done"
	WaveFailed      = "failed"
)

// Waves returns the status of every wave of r in state fs, in order.
func Waves(r *Rollout, fs FleetState) []WaveStatus {
	var out []WaveStatus
	for i, w := range r.Spec.Waves {
		ws := WaveStatus{Name: w.Name, State: WaveWaiting}
		done, failed := 0, 0
		for _, t := range w.Targets {
			s := fs.Targets[t]
			ts := TargetStatus{Name: t, Release: s.Release, Stable: s.Stable, Phase: s.Phase, Weight: s.LiveWeight(), Failed: fs.failedIn(t)}
			if n := len(r.ForTarget(t).Steps()); s.Step > 0 && (s.InProgress() || s.Phase == PhaseAborted) {
				ts.Step, ts.Steps = s.Step, n
			}
			if ts.Failed {
				failed++
			}
			if fs.done(t) {
				done++
			}
			ws.Targets = append(ws.Targets, ts)
		}
		switch {
		case !fs.HasWave(r, i):
		case failed > 0:
			ws.State = WaveFailed
		case done < len(w.Targets):
			ws.State = WaveProgressing
		case i+1 < len(r.Spec.Waves) && !fs.HasWave(r, i+1) && fs.Failed == nil && fs.AbortBy == nil:
			ws.State = WaveSoaking
		default:
			ws.State = WaveDone
		}
		out = append(out, ws)
	}
	return out
}

// WavesPhase sums up the waves as a phase: the wave in flight and its
// number ("Wave 2/2 rest progressing"), "Stopped at wave …" after a
// failure, "Done" when every wave is.
func WavesPhase(ws []WaveStatus) string {
	for i, w := range ws {
		switch w.State {
		case WaveFailed:
			return fmt.Sprintf("Stopped at wave %d/%d %s", i+1, len(ws), w.Name)
		case WaveProgressing, WaveSoaking:
			return fmt.Sprintf("Wave %d/%d %s %s", i+1, len(ws), w.Name, w.State)
		case WaveWaiting:
			return fmt.Sprintf("Wave %d/%d %s waiting", i+1, len(ws), w.Name)
		}
	}
	return "Done"
}
