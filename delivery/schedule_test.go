package delivery

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in      string
		want    Schedule
		wantErr string
	}{
		{in: "5s,5m,30m,2h", want: Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}},
		{in: " 5s , 1h30m ,\t10h ", want: Schedule{5 * time.Second, 90 * time.Minute, 10 * time.Hour}},
		{in: "250ms", want: Schedule{250 * time.Millisecond}},
		{in: "5s,5m,30m,2h,5h,10h,10h", want: DefaultSchedule},
		{in: "", wantErr: "retry schedule is empty"},
		{in: "  ", wantErr: "retry schedule is empty"},
		{in: "5s,,5m", wantErr: "retry schedule entry 2 is empty"},
		{in: "5s,", wantErr: "retry schedule entry 2 is empty"},
		{in: "5s,5x", wantErr: `retry schedule entry 2 "5x": not a duration`},
		{in: "5", wantErr: `retry schedule entry 1 "5": not a duration`},
		{in: "5s,0s", wantErr: `retry schedule entry 2 "0s": must be greater than zero`},
		{in: "-5s", wantErr: `retry schedule entry 1 "-5s": must be greater than zero`},
		{in: "1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s", wantErr: "has 51 entries: at most 50"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSchedule(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestScheduleString(t *testing.T) {
	t.Parallel()

	tests := []struct {
		in   Schedule
		want string
	}{
		{DefaultSchedule, "5s,5m,30m,2h,5h,10h,10h"},
		{Schedule{90 * time.Minute, 1500 * time.Millisecond, 61 * time.Second}, "1h30m,1.5s,1m1s"},
		{Schedule{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.in.String())
			if len(tt.in) > 0 {
				back, err := ParseSchedule(tt.in.String())
				require.NoError(t, err)
				require.Equal(t, tt.in, back)
			}
		})
	}
}

func TestScheduleDelay(t *testing.T) {
	t.Parallel()

	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	s := Schedule{10 * time.Second, time.Minute, time.Hour}
	tests := []struct {
		name   string
		failed int
		rnd    func() float64
		want   time.Duration
		wantOK bool
	}{
		{"first failure, no jitter", 1, fixed(0.5), 10 * time.Second, true},
		{"first failure, least jitter", 1, fixed(0), 8 * time.Second, true},
		{"first failure, most jitter", 1, fixed(0.999999), 11999996 * time.Microsecond, true},
		{"second failure", 2, fixed(0.5), time.Minute, true},
		{"last step", 3, fixed(0.25), 54 * time.Minute, true},
		{"exhausted", 4, fixed(0.5), 0, false},
		{"far past the end", 100, fixed(0.5), 0, false},
		{"zero counts as first", 0, fixed(0.5), 10 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := s.Delay(tt.failed, tt.rnd)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}

	t.Run("nil rnd stays within 20%", func(t *testing.T) {
		t.Parallel()
		for range 1000 {
			d, ok := DefaultSchedule.Delay(2, nil)
			require.True(t, ok)
			require.GreaterOrEqual(t, d, 4*time.Minute)
			require.Less(t, d, 6*time.Minute)
		}
		_, ok := DefaultSchedule.Delay(len(DefaultSchedule)+1, nil)
		require.False(t, ok)
	})
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()

	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 2 * time.Minute, true},
		{" 0 ", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true}, // in the past
		{"Saturday, 01-Mar-25 12:00:30 GMT", 30 * time.Second, true},
		{"Sat Mar  1 12:01:00 2025", time.Minute, true},
		{"99999999999999999999999", maxRetryAfter, true},
		{"100000000000", maxRetryAfter, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"12abc", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, ok := ParseRetryAfter(tt.in, now)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestClampRetryAfter(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		scheduled  time.Duration
		retryAfter time.Duration
		want       time.Duration
	}{
		{"shorter than the step waits the step", 5 * time.Minute, 10 * time.Second, 5 * time.Minute},
		{"none waits the step", 5 * time.Minute, 0, 5 * time.Minute},
		{"within the window is honoured", 5 * time.Minute, 7 * time.Minute, 7 * time.Minute},
		{"exactly twice is honoured", 5 * time.Minute, 10 * time.Minute, 10 * time.Minute},
		{"longer is cut to twice the step", 5 * time.Minute, 24 * time.Hour, 10 * time.Minute},
		{"huge step does not overflow", 1 << 62, 1<<63 - 1, 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, ClampRetryAfter(tt.scheduled, tt.retryAfter))
		})
	}
}
