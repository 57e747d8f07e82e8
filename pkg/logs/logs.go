// Package logs builds the one zap logger each minik8s process makes in its
// main and passes down: the --log-format and --v flags of every binary mean
// the same everywhere.
package logs

import (
	"fmt"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// DebugVerbosity is the --v from which debug messages are logged.
const DebugVerbosity = 2

// New builds a logger writing to stderr. format is "json" or "console";
// v is the --v verbosity: below DebugVerbosity info and above, from it
// debug too.
func New(format string, v int) (*zap.Logger, error) {
	level := zapcore.InfoLevel
	if v >= DebugVerbosity {
		level = zapcore.DebugLevel
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case "json":
		enc = zapcore.NewJSONEncoder(encCfg)
	case "console", "text":
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("--log-format %q: must be json or console", format)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(os.Stderr), level), zap.ErrorOutput(zapcore.Lock(os.Stderr))), nil
}
