package minictl

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		give time.Duration
		want string
	}{
		{-2 * time.Second, "<invalid>"},
		{-1 * time.Second, "0s"},
		{0, "0s"},
		{time.Second, "1s"},
		{1500 * time.Millisecond, "1s"},
		{70 * time.Second, "70s"},
		{119 * time.Second, "119s"},
		{120 * time.Second, "2m"},
		{121 * time.Second, "2m1s"},
		{190 * time.Second, "3m10s"},
		{9*time.Minute + 59*time.Second, "9m59s"},
		{10 * time.Minute, "10m"},
		{10*time.Minute + 30*time.Second, "10m"},
		{70 * time.Minute, "70m"},
		{179 * time.Minute, "179m"},
		{3 * time.Hour, "3h"},
		{3*time.Hour + 30*time.Minute, "3h30m"},
		{7*time.Hour + 59*time.Minute, "7h59m"},
		{8 * time.Hour, "8h"},
		{8*time.Hour + 30*time.Minute, "8h"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{49 * time.Hour, "2d1h"},
		{(7*24 + 23) * time.Hour, "7d23h"},
		{(8*24 + 2) * time.Hour, "8d"},
		{367 * 24 * time.Hour, "367d"},
		{(365*2*24 + 25) * time.Hour, "2y1d"},
		{365 * 2 * 24 * time.Hour, "2y"},
		{(365*8*24 + 2) * time.Hour, "8y"},
	}
	for _, tt := range tests {
		if got := HumanDuration(tt.give); got != tt.want {
			t.Errorf("HumanDuration(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestSinceUnset(t *testing.T) {
	if got := since(testNow, nil); got != "<unknown>" {
		t.Errorf("since(nil) = %q, want <unknown>", got)
	}
	if got := since(testNow, ago(5*time.Second)); got != "5s" {
		t.Errorf("since(5s ago) = %q, want 5s", got)
	}
}
