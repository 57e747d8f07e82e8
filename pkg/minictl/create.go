package minictl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/defaults"
	"minik8s/pkg/apis/validation"
)

// fileFlags are the -f/-R flags shared by create, apply and delete.
type fileFlags struct {
	filenames []string
	recursive bool
}

func (ff *fileFlags) add(cmd *cobra.Command, verb string) {
	cmd.Flags().StringSliceVarP(&ff.filenames, "filename", "f", nil, "Filename, directory, or URL to files to use to "+verb+" the resource")
	cmd.Flags().BoolVarP(&ff.recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively.")
}

// validateFlag is kubectl's --validate: "strict" or "true" checks objects
// here before sending them, "false" or "ignore" leaves it to the server.
type validateFlag struct{ value string }

func (v *validateFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&v.value, "validate", "strict", "Must be one of: strict (or true), warn, ignore (or false). \"true\" or \"strict\" checks every object as the server will (names, required fields, quantities) before sending any; \"warn\" prints the problems and sends the objects anyway; \"ignore\" or \"false\" leaves validation to the server.")
	cmd.Flags().Lookup("validate").NoOptDefVal = "strict"
}

// check validates a copy of obj with the server's defaults applied. In
// warn mode it prints the problem and returns nil.
func (v *validateFlag) check(f *Factory, obj apis.Object) error {
	mode := strings.ToLower(v.value)
	switch mode {
	case "false", "ignore":
		return nil
	case "true", "strict", "warn":
	default:
		return fmt.Errorf("invalid - validate option %q; must be one of: strict (or true), warn, ignore (or false)", v.value)
	}
	c := proto.Clone(obj).(apis.Object)
	defaults.Default(c)
	err := validation.Validate(c)
	if err != nil && mode == "warn" {
		fmt.Fprintf(f.ErrOut, "Warning: %s\n", err)
		return nil
	}
	return err
}

// manifestObject is one object of a manifest with where it came from.
type manifestObject struct {
	source string
	res    *apis.Resource
	obj    apis.Object
	ns     string
}

// loadManifestObjects reads every -f source and resolves each object's kind
// and namespace. Objects that cannot be resolved are reported in errs;
// the others are returned.
func loadManifestObjects(f *Factory, ff *fileFlags) (objs []manifestObject, errs errorList, err error) {
	sources, err := readManifests(ff.filenames, f.In, ff.recursive)
	if err != nil {
		return nil, nil, err
	}
	ns, explicit := f.Namespace()
	for _, src := range sources {
		for _, obj := range src.objs {
			res, err := apis.ForObject(obj)
			if err != nil {
				errs = append(errs, fmt.Errorf("error processing %q: %w", src.source, err))
				continue
			}
			objNS, err := objectNamespace(res, obj, ns, explicit)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if res.Namespaced {
				apis.Meta(obj).Namespace = objNS
			}
			objs = append(objs, manifestObject{source: src.source, res: res, obj: obj, ns: objNS})
		}
	}
	return objs, errs, nil
}

func newCreateCommand(f *Factory) *cobra.Command {
	var ff fileFlags
	var output string
	var saveConfig bool
	var validate validateFlag
	cmd := &cobra.Command{
		Use:   "create -f FILENAME",
		Short: "Create a resource from a file or from stdin",
		Long: "Create a resource from a file or from stdin.\n\n" +
			"JSON and YAML formats are accepted; a file may hold several documents.",
		Example: "  # Create a pod using the data in pod.yaml\n" +
			"  minictl create -f ./pod.yaml\n\n" +
			"  # Create a pod based on the YAML passed into stdin\n" +
			"  cat pod.yaml | minictl create -f -\n\n" +
			"  # Create every object of the manifests in a directory\n" +
			"  minictl create -f ./manifests/",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(ff.filenames) == 0 {
				return usageError(cmd, "must specify one of -f and -k")
			}
			if len(args) > 0 {
				return usageError(cmd, "Unexpected args: %v", args)
			}
			if err := checkOutput(output, "", outputName, outputYAML, outputJSON); err != nil {
				return err
			}
			return runCreate(cmd, f, &ff, output, saveConfig, &validate)
		},
	}
	ff.add(cmd, "create")
	validate.add(cmd)
	cmd.Flags().BoolVar(&saveConfig, "save-config", false, "If true, the configuration of current object will be saved in its annotation. Otherwise, the annotation will be unchanged. This flag is useful when you want to perform minictl apply on this object in the future.")
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format. One of: (json, yaml, name).")
	return cmd
}

func runCreate(cmd *cobra.Command, f *Factory, ff *fileFlags, output string, saveConfig bool, validate *validateFlag) error {
	return forEachManifest(f, ff, "create", "creating", output, validate, func(c Client, mo manifestObject) (apis.Object, string, error) {
		if saveConfig {
			last, err := lastAppliedConfiguration(mo.obj)
			if err != nil {
				return nil, "", fmt.Errorf("error when creating %q: %w", mo.source, err)
			}
			setAnnotation(mo.obj, LastAppliedAnnotation, last)
		}
		created, err := c.Create(cmd.Context(), mo.res, mo.obj)
		if err != nil {
			return nil, "", whenErr("creating", mo.source, err)
		}
		return orObj(created, mo.obj), "created", nil
	})
}

// forEachManifest loads the manifests of ff, validates each object and
// hands it to do, printing what do made of it. As kubectl does, an error
// of one object is reported after the others were tried.
func forEachManifest(f *Factory, ff *fileFlags, verb, doing, output string, validate *validateFlag, do func(c Client, mo manifestObject) (apis.Object, string, error)) error {
	objs, errs, err := loadManifestObjects(f, ff)
	if err != nil {
		return err
	}
	if len(objs) == 0 && len(errs) == 0 {
		return fmt.Errorf("no objects passed to %s", verb)
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	for _, mo := range objs {
		if err := validate.check(f, mo.obj); err != nil {
			errs = append(errs, fmt.Errorf("error when %s %q: %w", doing, mo.source, err))
			continue
		}
		obj, result, err := do(c, mo)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := printResult(f, mo.res, obj, output, result); err != nil {
			return err
		}
	}
	return errs.orNil()
}

// printResult reports a create/apply/delete: "pod/web created" by default,
// or the object in the -o format.
func printResult(f *Factory, res *apis.Resource, obj apis.Object, output, verb string) error {
	switch output {
	case outputName:
		_, err := fmt.Fprintln(f.Out, objectName(res, obj))
		return err
	case outputYAML, outputJSON:
		return writeObject(f.Out, output, obj)
	}
	_, err := fmt.Fprintf(f.Out, "%s %s\n", objectName(res, obj), verb)
	return err
}

// whenErr puts kubectl's context before a server error:
// `error when creating "pod.yaml": pods "web" already exists`.
func whenErr(doing, source string, err error) error {
	var se *ServerError
	if errors.As(err, &se) {
		return &ServerError{Err: se.Err, Msg: fmt.Sprintf("error when %s %q: %s", doing, source, se.Error())}
	}
	return fmt.Errorf("error when %s %q: %w", doing, source, err)
}
