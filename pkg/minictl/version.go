package minictl

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is minictl's version, printed by `minictl version`.
const Version = "v0.1.0"

func newVersionCommand(f *Factory) *cobra.Command {
	var client bool
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client version information",
		Long: "Print the client version information.\n\n" +
			"The API has no version call yet, so only the client is reported (as with --client).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", outputYAML, outputJSON); err != nil {
				return err
			}
			info := versionInfo()
			switch output {
			case outputJSON, outputYAML:
				data := fmt.Sprintf(`{"clientVersion":{"gitVersion":%q,"gitCommit":%q,"goVersion":%q,"platform":%q}}`,
					info.version, info.commit, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
				return writeJSONAs(f.Out, output, []byte(data))
			}
			_, err := fmt.Fprintf(f.Out, "Client Version: %s\n", info.version)
			return err
		},
	}
	cmd.Flags().BoolVar(&client, "client", false, "If true, shows client version only (no server required).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "One of 'yaml' or 'json'.")
	return cmd
}

type buildInfo struct{ version, commit string }

// versionInfo is Version plus the VCS revision the binary was built from,
// when the build recorded one.
func versionInfo() buildInfo {
	info := buildInfo{version: Version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				info.commit = s.Value
			}
		}
	}
	return info
}
