package minictl

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// HumanDuration prints d the way kubectl prints ages: two or three
// significant figures ("45s", "3m12s", "12m", "5h3m", "10h", "3d4h", "20d",
// "2y100d"), "0s" for the near future and "<invalid>" for the distant one.
// The thresholds are those of k8s.io/apimachinery/pkg/util/duration.
func HumanDuration(d time.Duration) string {
	// A clock skew below two seconds counts as now.
	if seconds := int(d.Seconds()); seconds < -1 {
		return "<invalid>"
	} else if seconds < 0 {
		return "0s"
	} else if seconds < 60*2 {
		return fmt.Sprintf("%ds", seconds)
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		if s := int(d/time.Second) % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", minutes, s)
		}
		return fmt.Sprintf("%dm", minutes)
	} else if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int(d / time.Hour)
	switch {
	case hours < 8:
		if m := int(d/time.Minute) % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", hours, m)
		}
		return fmt.Sprintf("%dh", hours)
	case hours < 48:
		return fmt.Sprintf("%dh", hours)
	case hours < 24*8:
		if h := hours % 24; h != 0 {
			return fmt.Sprintf("%dd%dh", hours/24, h)
		}
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*2:
		return fmt.Sprintf("%dd", hours/24)
	case hours < 24*365*8:
		if dy := (hours / 24) % 365; dy != 0 {
			return fmt.Sprintf("%dy%dd", hours/24/365, dy)
		}
		return fmt.Sprintf("%dy", hours/24/365)
	}
	return fmt.Sprintf("%dy", hours/24/365)
}

// since prints how long ago t was, "<unknown>" when t is unset (kubectl's
// translateTimestampSince).
func since(now time.Time, t *timestamppb.Timestamp) string {
	if t == nil || (t.GetSeconds() == 0 && t.GetNanos() == 0) {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t.AsTime()))
}

// isSet reports whether a timestamp carries a time.
func isSet(t *timestamppb.Timestamp) bool {
	return t != nil && (t.GetSeconds() != 0 || t.GetNanos() != 0)
}
