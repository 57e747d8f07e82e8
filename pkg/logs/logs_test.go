package logs

import "testing"

func TestNew(t *testing.T) {
	tests := []struct {
		format  string
		v       int
		wantErr bool
		debug   bool
	}{
		{"json", 0, false, false},
		{"console", 1, false, false},
		{"text", DebugVerbosity, false, true},
		{"xml", 0, true, false},
	}
	for _, tt := range tests {
		lg, err := New(tt.format, tt.v)
		if (err != nil) != tt.wantErr {
			t.Fatalf("New(%q, %d) error %v, want error %v", tt.format, tt.v, err, tt.wantErr)
		}
		if err != nil {
			continue
		}
		if got := lg.Core().Enabled(-1); got != tt.debug {
			t.Errorf("New(%q, %d): debug enabled %v, want %v", tt.format, tt.v, got, tt.debug)
		}
	}
}
