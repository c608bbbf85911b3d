package policy

import (
	"fmt"
	"strings"
	"time"

	// Time zones come with the binary: a container image may have no
	// /usr/share/zoneinfo.
	_ "time/tzdata"
)

// weekdays maps the day names a change window may use to time.Weekday.
var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// InWindow reports whether now lies inside one of the schedule's change
// windows, in the schedule's time zone (UTC when empty). When it does,
// next is when that window closes; otherwise next is when the next window
// opens. A window runs from Start to End on each of its Days (every day
// when Days is empty); an End at or before Start runs into the next day
// (Fri 22:00–06:00 closes Sat 06:00), and "24:00" is the end of the day.
// Wall-clock times follow daylight saving time: 09:00 stays 09:00 local.
func InWindow(s ScheduleGate, now time.Time) (ok bool, next time.Time, err error) {
	loc, err := scheduleLocation(s)
	if err != nil {
		return false, time.Time{}, err
	}
	if len(s.Windows) == 0 {
		return false, time.Time{}, fmt.Errorf("schedule has no change windows")
	}
	local := now.In(loc)
	y, m, d := local.Date()
	var opens time.Time
	for i, w := range s.Windows {
		days, err := windowDays(w)
		if err != nil {
			return false, time.Time{}, fmt.Errorf("windows[%d]: %w", i, err)
		}
		sh, sm, err := clock(w.Start, false)
		if err != nil {
			return false, time.Time{}, fmt.Errorf("windows[%d].start: %w", i, err)
		}
		eh, em, err := clock(w.End, true)
		if err != nil {
			return false, time.Time{}, fmt.Errorf("windows[%d].end: %w", i, err)
		}
		overnight := eh*60+em <= sh*60+sm
		// Yesterday's overnight window may still be open; a week and a
		// day ahead always holds the next opening.
		for off := -1; off <= 7; off++ {
			day := time.Date(y, m, d+off, 12, 0, 0, 0, loc)
			if !days[day.Weekday()] {
				continue
			}
			start := time.Date(y, m, d+off, sh, sm, 0, 0, loc)
			endDay := d + off
			if overnight {
				endDay++
			}
			end := time.Date(y, m, endDay, eh, em, 0, 0, loc)
			if !now.Before(start) && now.Before(end) {
				return true, end, nil
			}
			if start.After(now) && (opens.IsZero() || start.Before(opens)) {
				opens = start
			}
		}
	}
	return false, opens, nil
}

// JudgeSchedule judges a change-window gate at now: inside a window it
// passes; outside it holds (inconclusive) with the next opening as the
// reason, e.g. "outside change window; next opens Mon 09:00 Europe/Berlin".
func JudgeSchedule(g Gate, now time.Time) GateResult {
	res := newResult(g)
	if g.Schedule == nil {
		res.Reason = fmt.Sprintf("gate %s has no schedule", g.Name)
		return res
	}
	ok, next, err := InWindow(*g.Schedule, now)
	loc, _ := scheduleLocation(*g.Schedule)
	switch {
	case err != nil:
		res.Reason = "schedule: " + err.Error()
		res.Inconclusives = 1
	case ok:
		res.Verdict = Pass
		res.Reason = "inside change window until " + next.In(loc).Format("Mon 15:04") + " " + loc.String()
	default:
		res.Reason = "outside change window; next opens " + next.In(loc).Format("Mon 15:04") + " " + loc.String()
		res.Inconclusives = 1
	}
	return res
}

// scheduleLocation loads the schedule's time zone.
func scheduleLocation(s ScheduleGate) (*time.Location, error) {
	if s.TimeZone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("timeZone %q: not an IANA time zone such as Europe/Berlin", s.TimeZone)
	}
	return loc, nil
}

// windowDays returns the set of weekdays a window opens on.
func windowDays(w ChangeWindow) (map[time.Weekday]bool, error) {
	days := make(map[time.Weekday]bool, 7)
	if len(w.Days) == 0 {
		for _, d := range weekdays {
			days[d] = true
		}
		return days, nil
	}
	for _, name := range w.Days {
		n := strings.ToLower(name)
		if len(n) > 3 {
			n = n[:3]
		}
		d, ok := weekdays[n]
		if !ok || (len(name) > 3 && !strings.EqualFold(name, d.String())) {
			return nil, fmt.Errorf("days: %q is not a weekday (Mon, Tue, … Sun)", name)
		}
		days[d] = true
	}
	return days, nil
}

// clock parses "HH:MM"; "24:00" only when allowEnd.
func clock(s string, allowEnd bool) (h, m int, err error) {
	digits := len(s) == 5 && s[2] == ':'
	for _, i := range []int{0, 1, 3, 4} {
		digits = digits && s[i] >= '0' && s[i] <= '9'
	}
	if !digits {
		return 0, 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	if allowEnd && h == 24 && m == 0 {
		return h, m, nil
	}
	if h > 23 || m > 59 {
		return 0, 0, fmt.Errorf("%q is not a time of day (00:00–23:59)", s)
	}
	return h, m, nil
}

// ScheduleMisses is how many of the measurement points in q (one every
// q.Step from q.Start to q.End) lie outside schedule gate g's change
// windows: the inconclusive measurements it counts.
func ScheduleMisses(g Gate, q MeasureRange) int {
	if g.Schedule == nil || q.Step <= 0 {
		return 0
	}
	n := 0
	for t := q.Start; !t.After(q.End); t = t.Add(q.Step) {
		if ok, _, err := InWindow(*g.Schedule, t); err != nil || !ok {
			n++
		}
	}
	return n
}
