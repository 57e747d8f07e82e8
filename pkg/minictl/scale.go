package minictl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

type scaleOptions struct {
	replicas        int32
	currentReplicas int32
	resourceVersion string
}

func newScaleCommand(f *Factory) *cobra.Command {
	o := &scaleOptions{}
	cmd := &cobra.Command{
		Use:   "scale [--resource-version=version] [--current-replicas=count] --replicas=COUNT (TYPE NAME | TYPE/NAME)",
		Short: "Set a new size for a deployment or replica set",
		Long: "Set a new size for a deployment or replica set.\n\n" +
			"Scale also allows users to specify one or more preconditions for the scale action.\n\n" +
			"If --current-replicas or --resource-version is specified, it is validated before the scale is attempted, and it is guaranteed that the precondition holds true when the scale is sent to the server.",
		Example: "  # Scale a deployment named 'web' to 3\n  minictl scale --replicas=3 deployment/web\n\n" +
			"  # If the deployment named web's current size is 2, scale it to 3\n  minictl scale --current-replicas=2 --replicas=3 deployment web",
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("replicas") {
				return usageError(cmd, "--replicas=COUNT is required, and COUNT must be greater than or equal to 0")
			}
			if o.replicas < 0 {
				return fmt.Errorf("the --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
			}
			sels, err := parseResourceArgs(cmd.CommandPath(), args)
			if err != nil {
				return err
			}
			if len(sels) == 0 {
				return usageError(cmd, "Required resource not specified.")
			}
			c, err := f.Client()
			if err != nil {
				return err
			}
			ns, _ := f.Namespace()
			var errs errorList
			for _, s := range sels {
				if s.res.Name != "deployments" && s.res.Name != "replicasets" {
					errs = append(errs, fmt.Errorf("cannot scale %s: only deployments and replicasets can be scaled", qualifiedResource(s.res)))
					continue
				}
				if len(s.names) == 0 {
					return usageError(cmd, "resource(s) were provided, but no name was specified")
				}
				for _, name := range s.names {
					if err := scaleOne(cmd.Context(), c, s.res, ns, name, o); err != nil {
						errs = append(errs, err)
						continue
					}
					fmt.Fprintf(f.Out, "%s/%s scaled\n", qualifiedKind(s.res), name)
				}
			}
			return errs.orNil()
		},
	}
	fl := cmd.Flags()
	fl.Int32Var(&o.replicas, "replicas", 0, "The new desired number of replicas. Required.")
	fl.Int32Var(&o.currentReplicas, "current-replicas", -1, "Precondition for current size. Requires that the current size of the resource match this value in order to scale. -1 (default) for no condition.")
	fl.StringVar(&o.resourceVersion, "resource-version", "", "Precondition for resource version. Requires that the current resource version match this value in order to scale.")
	return cmd
}

// scaleOne sets spec.replicas of one object, redoing the
// read-modify-write on a conflict unless a precondition was given.
func scaleOne(ctx context.Context, c Client, res *apis.Resource, ns, name string, o *scaleOptions) error {
	for attempt := 0; ; attempt++ {
		obj, err := c.Get(ctx, res, ns, name)
		if err != nil {
			return err
		}
		obj = proto.Clone(obj).(apis.Object)
		var replicas **int32
		switch x := obj.(type) {
		case *v1.Deployment:
			if x.Spec == nil {
				x.Spec = &v1.DeploymentSpec{}
			}
			replicas = &x.Spec.Replicas
		case *v1.ReplicaSet:
			if x.Spec == nil {
				x.Spec = &v1.ReplicaSetSpec{}
			}
			replicas = &x.Spec.Replicas
		default:
			return fmt.Errorf("cannot scale a %T", obj)
		}
		cur := int32(1)
		if *replicas != nil {
			cur = **replicas
		}
		if o.currentReplicas >= 0 && cur != o.currentReplicas {
			return fmt.Errorf("Expected replicas to be %d, was %d", o.currentReplicas, cur) //nolint:staticcheck // kubectl's words
		}
		if o.resourceVersion != "" && obj.GetMetadata().GetResourceVersion() != o.resourceVersion {
			return AsServerError(errdefs.Conflict("Operation cannot be fulfilled on %s %q: the object has been modified; please apply your changes to the latest version and try again", qualifiedResource(res), name))
		}
		n := o.replicas
		*replicas = &n
		_, err = c.Update(ctx, res, obj)
		if errdefs.IsConflict(err) && attempt < 4 && o.currentReplicas < 0 && o.resourceVersion == "" {
			continue
		}
		return err
	}
}
