package minictl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"minik8s/pkg/apis"
)

func newAPIResourcesCommand(f *Factory) *cobra.Command {
	var output string
	var namespaced string
	var noHeaders bool
	cmd := &cobra.Command{
		Use:   "api-resources",
		Short: "Print the supported API resources on the server",
		Example: "  # Print the supported API resources\n" +
			"  minictl api-resources\n\n" +
			"  # Print the supported namespaced resources\n" +
			"  minictl api-resources --namespaced=true",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "", outputWide, outputName); err != nil {
				return err
			}
			var filter *bool
			if namespaced != "" {
				b, err := strconv.ParseBool(namespaced)
				if err != nil {
					return fmt.Errorf("invalid argument %q for \"--namespaced\" flag: %w", namespaced, err)
				}
				filter = &b
			}
			tw := newTableWriter(f.Out)
			if output != outputName && !noHeaders {
				h := []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}
				if output == outputWide {
					h = append(h, "VERBS")
				}
				tw.Row(h...)
			}
			for _, r := range apis.Resources() {
				if filter != nil && r.Namespaced != *filter {
					continue
				}
				if output == outputName {
					tw.Row(qualifiedResource(r))
					continue
				}
				row := []string{r.Name, strings.Join(r.ShortNames, ","), r.APIVersion, strconv.FormatBool(r.Namespaced), r.Kind}
				if output == outputWide {
					row = append(row, "create,delete,get,list,update,watch")
				}
				tw.Row(row...)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (wide, name).")
	cmd.Flags().StringVar(&namespaced, "namespaced", "", "If false, non-namespaced resources will be returned, otherwise returning namespaced resources by default.")
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	return cmd
}
