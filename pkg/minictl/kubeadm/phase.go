// Package kubeadm holds minictl's kubeadm-style cluster bootstrap commands.
// `minictl init` is a list of phases run in order over one shared InitData,
// as kubeadm's workflow runner does; every phase also runs alone as
// `minictl init phase <phase> [sub-phase]`, phases can be skipped with
// --skip-phases, and the printed lines follow kubeadm's wording.
//
// Adding a phase to init means appending a Phase to initPhases; its command
// under `init phase`, its --skip-phases name and its flags follow from it.
package kubeadm

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"minik8s/pkg/apis/errdefs"
)

// Phase is one step of init (certs, kubeconfig, ...) or one sub-step of
// such a step (certs/apiserver).
type Phase struct {
	// Name is the phase's name on the command line and in --skip-phases.
	Name string
	// Short is the one-line help.
	Short string
	// Long is the longer help, optional.
	Long string
	// Run does this phase's own work; it runs before the sub-phases, and
	// also when only some of them are selected (as kubeadm prints
	// "[certs] Using certificateDir folder" before any certificate). nil for
	// a pure group.
	Run func(ctx context.Context, d *InitData) error
	// Phases are the sub-phases, run in order. A phase with sub-phases gets
	// an extra `all` command that runs them all.
	Phases []Phase
	// Flags are the phase-specific init flags (by name) the phase's command
	// accepts besides the common configuration flags; a sub-phase's command
	// also accepts its parents' flags.
	Flags []string
}

// selection decides which phases run: the selected paths ("certs",
// "certs/apiserver"; empty means all), minus the skipped ones.
type selection struct {
	all      bool
	selected map[string]bool
	skipped  map[string]bool
}

// under reports whether path is p or lies under p.
func under(path, p string) bool {
	return path == p || strings.HasPrefix(path, p+"/")
}

// wanted reports whether the phase at path is selected, lies under a
// selected phase, or has a selected phase beneath it.
func (s selection) wanted(path string) bool {
	if s.all {
		return true
	}
	for p := range s.selected {
		if under(path, p) || under(p, path) {
			return true
		}
	}
	return false
}

// skip reports whether the phase at path or one of its parents is skipped.
func (s selection) skip(path string) bool {
	for p := range s.skipped {
		if under(path, p) {
			return true
		}
	}
	return false
}

// runPhases runs the selected phases in order, depth first, stopping at
// the first error, which names the phase as kubeadm's runner does.
func runPhases(ctx context.Context, phases []Phase, parent string, d *InitData, sel selection) error {
	for _, p := range phases {
		path := p.Name
		if parent != "" {
			path = parent + "/" + p.Name
		}
		if !sel.wanted(path) || sel.skip(path) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.Run != nil {
			if err := p.Run(ctx, d); err != nil {
				return fmt.Errorf("error execution phase %s: %w", path, err)
			}
		}
		if err := runPhases(ctx, p.Phases, path, d, sel); err != nil {
			return err
		}
	}
	return nil
}

// phasePaths lists every phase path, for validating --skip-phases.
func phasePaths(phases []Phase, parent string, out map[string]bool) {
	for _, p := range phases {
		path := p.Name
		if parent != "" {
			path = parent + "/" + p.Name
		}
		out[path] = true
		phasePaths(p.Phases, path, out)
	}
}

// newSelection checks --skip-phases against the known phases.
func newSelection(phases []Phase, selected, skipped []string) (selection, error) {
	known := map[string]bool{}
	phasePaths(phases, "", known)
	sel := selection{all: len(selected) == 0, selected: map[string]bool{}, skipped: map[string]bool{}}
	for _, s := range selected {
		sel.selected[s] = true
	}
	for _, s := range skipped {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !known[s] {
			return selection{}, errdefs.Invalid("--skip-phases: unknown phase %q", s)
		}
		sel.skipped[s] = true
	}
	return sel, nil
}

// phaseCommands builds the `phase` command tree: one command per phase,
// plus `all` under each phase with sub-phases.
func phaseCommands(parentCmd *cobra.Command, phases []Phase, parentPath string, parentFlags []string, fs *pflag.FlagSet, run func(cmd *cobra.Command, path string) error) {
	for _, p := range phases {
		path := p.Name
		if parentPath != "" {
			path = parentPath + "/" + p.Name
		}
		flags := append(append([]string{}, parentFlags...), p.Flags...)
		cmd := &cobra.Command{
			Use:          p.Name,
			Short:        p.Short,
			Long:         p.Long,
			Args:         cobra.NoArgs,
			SilenceUsage: true,
			RunE:         func(cmd *cobra.Command, _ []string) error { return run(cmd, path) },
		}
		addFlags(cmd, fs, flags)
		if len(p.Phases) > 0 {
			allCmd := &cobra.Command{
				Use:          "all",
				Short:        "Run all " + p.Name + " phases",
				Args:         cobra.NoArgs,
				SilenceUsage: true,
				RunE:         func(cmd *cobra.Command, _ []string) error { return run(cmd, path) },
			}
			addFlags(allCmd, fs, subtreeFlags(p, flags))
			cmd.AddCommand(allCmd)
			phaseCommands(cmd, p.Phases, path, flags, fs, run)
			cmd.Flags().SortFlags = false
			addFlags(cmd, fs, subtreeFlags(p, flags))
		}
		parentCmd.AddCommand(cmd)
	}
}

// subtreeFlags is the union of the flags of a phase and all its sub-phases.
func subtreeFlags(p Phase, base []string) []string {
	out := append([]string{}, base...)
	for _, s := range p.Phases {
		out = append(out, subtreeFlags(s, s.Flags)...)
	}
	return out
}

// addFlags adds the named flags of fs to cmd, once each. The flags share
// their values with fs, so whichever command runs fills the same options.
func addFlags(cmd *cobra.Command, fs *pflag.FlagSet, names []string) {
	for _, n := range names {
		f := fs.Lookup(n)
		if f == nil {
			panic("kubeadm: phase names unknown flag " + n) // a programming error in the phase table
		}
		if cmd.Flags().Lookup(n) == nil {
			cmd.Flags().AddFlag(f)
		}
	}
}
