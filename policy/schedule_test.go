package policy

import (
	"strings"
	"testing"
	"time"
)

// utc is a wall-clock time in UTC; the expectations below are written in
// UTC by hand from the zone's offset on that date.
func utc(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

var officeHours = ScheduleGate{TimeZone: "Europe/Berlin", Windows: []ChangeWindow{
	{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri"}, Start: "09:00", End: "16:00"},
}}

func TestInWindow(t *testing.T) {
	nightly := ScheduleGate{TimeZone: "Europe/Berlin", Windows: []ChangeWindow{
		{Days: []string{"Fri"}, Start: "22:00", End: "06:00"},
	}}
	weekend := ScheduleGate{TimeZone: "America/New_York", Windows: []ChangeWindow{
		{Days: []string{"Saturday", "sun"}, Start: "00:00", End: "24:00"},
	}}
	twoWindows := ScheduleGate{Windows: []ChangeWindow{
		{Days: []string{"Mon"}, Start: "14:00", End: "15:00"},
		{Days: []string{"Mon"}, Start: "10:00", End: "11:00"},
	}}
	everyDay := ScheduleGate{Windows: []ChangeWindow{{Start: "08:00", End: "09:00"}}}
	tests := []struct {
		name     string
		s        ScheduleGate
		now      time.Time
		wantOK   bool
		wantNext time.Time
	}{
		// 2026-11-25 is a Wednesday; Berlin is UTC+1 in winter, UTC+2 in summer.
		{"inside office hours, next is the close", officeHours, utc(2026, 11, 25, 9, 0), true, utc(2026, 11, 25, 15, 0)},
		{"the opening minute is inside", officeHours, utc(2026, 11, 25, 8, 0), true, utc(2026, 11, 25, 15, 0)},
		{"the closing minute is outside", officeHours, utc(2026, 11, 25, 15, 0), false, utc(2026, 11, 26, 8, 0)},
		{"before opening, next is today's opening", officeHours, utc(2026, 11, 25, 7, 59), false, utc(2026, 11, 25, 8, 0)},
		{"friday evening waits over the weekend", officeHours, utc(2026, 11, 27, 17, 0), false, utc(2026, 11, 30, 8, 0)},
		{"sunday waits for monday", officeHours, utc(2026, 11, 29, 12, 0), false, utc(2026, 11, 30, 8, 0)},
		// Berlin springs forward on Sun 2026-03-29: Monday 09:00 is 07:00 UTC.
		{"the weekend of the spring DST change", officeHours, utc(2026, 3, 28, 11, 0), false, utc(2026, 3, 30, 7, 0)},
		// Berlin falls back on Sun 2026-10-25: Friday closes 14:00 UTC, Monday opens 08:00 UTC.
		{"inside on the friday before the autumn DST change", officeHours, utc(2026, 10, 23, 13, 0), true, utc(2026, 10, 23, 14, 0)},
		{"the weekend of the autumn DST change", officeHours, utc(2026, 10, 23, 15, 0), false, utc(2026, 10, 26, 8, 0)},
		{"an overnight window is open after midnight", nightly, utc(2026, 11, 28, 2, 0), true, utc(2026, 11, 28, 5, 0)},
		{"an overnight window is open before midnight", nightly, utc(2026, 11, 27, 21, 30), true, utc(2026, 11, 28, 5, 0)},
		{"after an overnight window the next is a week on", nightly, utc(2026, 11, 28, 5, 0), false, utc(2026, 12, 4, 21, 0)},
		// New York is UTC-5 in winter: Sat 00:00 is 05:00 UTC, Mon 00:00 is Mon 05:00 UTC.
		{"a weekend window is open on sunday", weekend, utc(2026, 11, 29, 20, 0), true, utc(2026, 11, 30, 5, 0)},
		{"a weekend window opens saturday", weekend, utc(2026, 11, 25, 12, 0), false, utc(2026, 11, 28, 5, 0)},
		// New York springs forward on Sun 2026-03-08: the window closes Mon 00:00 EDT = 04:00 UTC.
		{"a weekend window across the US DST change", weekend, utc(2026, 3, 8, 12, 0), true, utc(2026, 3, 9, 4, 0)},
		{"the earliest of several windows is next", twoWindows, utc(2026, 11, 30, 9, 0), false, utc(2026, 11, 30, 10, 0)},
		{"a later window of the day is next", twoWindows, utc(2026, 11, 30, 12, 0), false, utc(2026, 11, 30, 14, 0)},
		{"no days means every day, in UTC by default", everyDay, utc(2026, 11, 29, 9, 30), false, utc(2026, 11, 30, 8, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, next, err := InWindow(tt.s, tt.now)
			if err != nil {
				t.Fatalf("InWindow: %v", err)
			}
			if ok != tt.wantOK || !next.Equal(tt.wantNext) {
				t.Errorf("got ok=%v next=%s, want ok=%v next=%s", ok, next.UTC(), tt.wantOK, tt.wantNext)
			}
		})
	}
}

func TestInWindowRejectsBadSchedules(t *testing.T) {
	win := func(days []string, start, end string) ScheduleGate {
		return ScheduleGate{Windows: []ChangeWindow{{Days: days, Start: start, End: end}}}
	}
	tests := []struct {
		name    string
		s       ScheduleGate
		wantErr string
	}{
		{"unknown time zone", ScheduleGate{TimeZone: "Mars/Olympus", Windows: officeHours.Windows}, `timeZone "Mars/Olympus": not an IANA time zone`},
		{"no windows", ScheduleGate{}, "schedule has no change windows"},
		{"unknown day", win([]string{"Mon", "Funday"}, "09:00", "10:00"), `windows[0]: days: "Funday" is not a weekday`},
		{"a prefix that is not a day name", win([]string{"Monkey"}, "09:00", "10:00"), `"Monkey" is not a weekday`},
		{"start not HH:MM", win(nil, "9:00", "10:00"), `windows[0].start: "9:00" is not HH:MM`},
		{"start past the day", win(nil, "24:00", "10:00"), `windows[0].start: "24:00" is not a time of day`},
		{"end with bad minutes", win(nil, "09:00", "10:60"), `windows[0].end: "10:60" is not a time of day`},
		{"end with letters", win(nil, "09:00", "1a:00"), `windows[0].end: "1a:00" is not HH:MM`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := InWindow(tt.s, utc(2026, 11, 25, 12, 0))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestJudgeSchedule(t *testing.T) {
	g := Gate{Name: "change-window", Schedule: &officeHours}
	tests := []struct {
		name       string
		gate       Gate
		now        time.Time
		want       Verdict
		wantReason string
	}{
		{"inside passes", g, utc(2026, 11, 25, 9, 0), Pass, "inside change window until Wed 16:00 Europe/Berlin"},
		{"outside holds with the next opening", g, utc(2026, 11, 27, 17, 0), Inconclusive,
			"outside change window; next opens Mon 09:00 Europe/Berlin"},
		{"a bad schedule holds with the error", Gate{Name: "change-window", Schedule: &ScheduleGate{}}, utc(2026, 11, 25, 9, 0),
			Inconclusive, "schedule: schedule has no change windows"},
		{"a gate without a schedule holds", Gate{Name: "change-window"}, utc(2026, 11, 25, 9, 0),
			Inconclusive, "gate change-window has no schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := JudgeSchedule(tt.gate, tt.now)
			if got.Verdict != tt.want || got.Reason != tt.wantReason || got.Name != "change-window" || got.Severity != SeverityCritical {
				t.Errorf("got %+v, want %s %q", got, tt.want, tt.wantReason)
			}
		})
	}
}
