package minictl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
)

type getOptions struct {
	output            string
	labelSelector     string
	fieldSelector     string
	allNamespaces     bool
	watch             bool
	watchOnly         bool
	outputWatchEvents bool
	noHeaders         bool
	showLabels        bool
	ignoreNotFound    bool
	chunkSize         int64
	files             fileFlags
}

func newGetCommand(f *Factory) *cobra.Command {
	o := &getOptions{}
	cmd := &cobra.Command{
		Use:   "get [(-o|--output=)json|yaml|name|wide] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]",
		Short: "Display one or many resources",
		Long: "Display one or many resources.\n\n" +
			"Prints a table of the most important information about the specified resources.\n" +
			"You can filter the list using a label selector and the --selector flag.\n\n" +
			"Use \"minictl api-resources\" for a complete list of supported resources.",
		Example: "  # List all pods in ps output format\n" +
			"  minictl get pods\n\n" +
			"  # List all pods in ps output format with more information (such as node name)\n" +
			"  minictl get pods -o wide\n\n" +
			"  # List a single pod in JSON output format\n" +
			"  minictl get -o json pod web\n\n" +
			"  # List pods and nodes together\n" +
			"  minictl get pods,nodes\n\n" +
			"  # Watch the pods of every namespace\n" +
			"  minictl get pods -A -w",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGet(cmd, f, o, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, wide).")
	fl.StringVarP(&o.labelSelector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2). Matching objects must satisfy all of the specified label constraints.")
	fl.StringVar(&o.fieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.BoolVarP(&o.watch, "watch", "w", false, "After listing/getting the requested object, watch for changes.")
	fl.BoolVar(&o.watchOnly, "watch-only", false, "Watch for changes to the requested object(s), without listing/getting first.")
	fl.BoolVar(&o.outputWatchEvents, "output-watch-events", false, "Output watch event objects when --watch or --watch-only is used. Existing objects are output as initial ADDED events.")
	fl.BoolVar(&o.noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	fl.BoolVar(&o.showLabels, "show-labels", false, "When printing, show all labels as the last column (default hide labels column)")
	fl.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "If set to true, suppresses NotFound error for specific objects that do not exist.")
	fl.Int64Var(&o.chunkSize, "chunk-size", defaultChunkSize, "Return large lists in chunks rather than all at once. Pass 0 to disable.")
	o.files.add(cmd, "get")
	return cmd
}

// getTarget is one kind the command prints, with the objects to print.
type getTarget struct {
	res  *apis.Resource
	sel  selection
	objs []apis.Object
	// listed is true when objs came from a List (not named objects).
	listed bool
	// resourceVersion of the List, to watch from.
	resourceVersion string
}

func runGet(cmd *cobra.Command, f *Factory, o *getOptions, args []string) error {
	if err := checkOutput(o.output, outputTable, outputWide, outputName, outputYAML, outputJSON); err != nil {
		return err
	}
	var sels []selection
	if len(o.files.filenames) > 0 {
		if len(args) > 0 {
			return usageError(cmd, "when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well")
		}
		objs, errs, err := loadManifestObjects(f, &o.files)
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			return errs
		}
		for _, mo := range objs {
			sels = append(sels, selection{res: mo.res, names: []string{mo.obj.GetMetadata().GetName()}})
		}
	} else {
		var err error
		sels, err = parseResourceArgs(cmd.CommandPath(), args)
		if err != nil {
			return err
		}
	}
	if len(sels) == 0 {
		fmt.Fprintf(f.ErrOut, "You must specify the type of resource to get. Use \"%s api-resources\" for a complete list of supported resources.\n\n", cmd.Root().Name())
		return usageError(cmd, "Required resource not specified.")
	}
	named := false
	for _, s := range sels {
		named = named || len(s.names) > 0
	}
	if named && o.labelSelector != "" {
		return fmt.Errorf("name cannot be provided when a selector is specified")
	}
	if named && o.allNamespaces {
		return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
	}
	if o.chunkSize < 0 {
		return fmt.Errorf("--chunk-size must be 0 or greater, got %d", o.chunkSize)
	}
	watching := o.watch || o.watchOnly
	if watching && !sameKindSelections(sels) {
		return fmt.Errorf("watch is only supported on individual resources and resource collections, but %d resources were found", len(sels))
	}

	c, err := f.Client()
	if err != nil {
		return err
	}
	ns, _ := f.Namespace()
	ctx := cmd.Context()

	var targets []*getTarget
	var errs errorList
	for _, s := range sels {
		t := &getTarget{res: s.res, sel: s}
		targets = append(targets, t)
		if len(s.names) == 0 {
			listNS := namespaceFor(s.res, ns, o.allNamespaces)
			list, err := listChunks(ctx, c, s.res, listNS, ListOptions{LabelSelector: o.labelSelector, FieldSelector: o.fieldSelector}, o.chunkSize)
			if err != nil {
				return err
			}
			t.objs, t.listed, t.resourceVersion = list.Items, true, list.ResourceVersion
			continue
		}
		for _, name := range s.names {
			obj, err := c.Get(ctx, s.res, namespaceFor(s.res, ns, false), name)
			if errdefs.IsNotFound(err) && o.ignoreNotFound {
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.objs = append(t.objs, obj)
		}
	}

	p := &getPrinter{f: f, o: o, multiKind: len(targets) > 1 && !sameKind(targets)}
	if !o.watchOnly {
		if err := p.printTargets(targets, ns); err != nil {
			return err
		}
	}
	if err := errs.orNil(); err != nil {
		if !watching {
			return err
		}
		PrintError(f.ErrOut, err)
	}
	if !watching {
		return nil
	}
	return p.watch(ctx, c, targets[0], ns)
}

// defaultChunkSize is kubectl's --chunk-size.
const defaultChunkSize = 500

// listChunks lists as c.List does, in pages of chunkSize objects (0: one
// request), as kubectl does with --chunk-size: every page is read at the
// revision of the first, so the result is one consistent list at the
// resourceVersion it returns.
func listChunks(ctx context.Context, c Client, res *apis.Resource, namespace string, opts ListOptions, chunkSize int64) (*ObjectList, error) {
	opts.Limit = chunkSize
	out := &ObjectList{}
	for {
		page, err := c.List(ctx, res, namespace, opts)
		if err != nil {
			return nil, err
		}
		out.Items = append(out.Items, page.Items...)
		if out.ResourceVersion == "" {
			out.ResourceVersion = page.ResourceVersion
		}
		if chunkSize == 0 || page.Continue == "" {
			return out, nil
		}
		// The token carries the revision; a resourceVersion is not
		// allowed with it.
		opts.Continue, opts.ResourceVersion = page.Continue, ""
	}
}

func sameKindSelections(sels []selection) bool {
	for _, s := range sels[1:] {
		if s.res != sels[0].res {
			return false
		}
	}
	return true
}

func sameKind(ts []*getTarget) bool {
	for _, t := range ts[1:] {
		if t.res != ts[0].res {
			return false
		}
	}
	return true
}

// namespaceFor is the namespace to read a kind in: none for cluster-scoped
// kinds and for -A.
func namespaceFor(res *apis.Resource, ns string, all bool) string {
	if !res.Namespaced || all {
		return ""
	}
	return ns
}

// getPrinter prints what get found, in the -o format.
type getPrinter struct {
	f         *Factory
	o         *getOptions
	multiKind bool
	// tables are the table printers by kind, kept for watch rows.
	tables map[*apis.Resource]*tablePrinter
}

func (p *getPrinter) table(res *apis.Resource) *tablePrinter {
	if p.tables == nil {
		p.tables = map[*apis.Resource]*tablePrinter{}
	}
	if t, ok := p.tables[res]; ok {
		return t
	}
	t := &tablePrinter{
		w:             newTableWriter(p.f.Out),
		res:           res,
		tbl:           tableFor(res),
		wide:          p.o.output == outputWide,
		noHeaders:     p.o.noHeaders,
		showLabels:    p.o.showLabels,
		withNamespace: p.o.allNamespaces && res.Namespaced,
		withKind:      p.multiKind,
		watchEvents:   p.o.outputWatchEvents && (p.o.watch || p.o.watchOnly),
	}
	p.tables[res] = t
	return t
}

func (p *getPrinter) printTargets(targets []*getTarget, ns string) error {
	switch p.o.output {
	case outputYAML, outputJSON:
		var all []apis.Object
		single := len(targets) == 1 && !targets[0].listed && len(targets[0].sel.names) == 1
		for _, t := range targets {
			all = append(all, t.objs...)
		}
		if single && len(all) == 0 {
			return nil // the NotFound error says it all
		}
		if p.o.watch {
			for _, obj := range all {
				if err := p.printWatched(EventAdded, targets[0].res, obj); err != nil {
					return err
				}
			}
			return nil
		}
		return writeObjects(p.f.Out, p.o.output, all, !single)
	}
	printed := 0
	for _, t := range targets {
		if len(t.objs) == 0 {
			continue
		}
		if p.o.output == outputName {
			for _, obj := range t.objs {
				if _, err := fmt.Fprintln(p.f.Out, objectName(t.res, obj)); err != nil {
					return err
				}
			}
			printed++
			continue
		}
		if printed > 0 && p.multiKind {
			fmt.Fprintln(p.f.Out)
		}
		tp := p.table(t.res)
		tp.now = p.f.now()
		for _, obj := range t.objs {
			tp.add(EventAdded, obj)
		}
		if err := tp.flush(); err != nil {
			return err
		}
		printed++
	}
	if printed == 0 && anyListed(targets) {
		fmt.Fprintln(p.f.ErrOut, noResourcesFound(targets, ns, p.o.allNamespaces))
	}
	return nil
}

func anyListed(ts []*getTarget) bool {
	for _, t := range ts {
		if t.listed {
			return true
		}
	}
	return false
}

// noResourcesFound is kubectl's message for an empty list.
func noResourcesFound(ts []*getTarget, ns string, all bool) string {
	namespaced := false
	for _, t := range ts {
		namespaced = namespaced || t.res.Namespaced
	}
	if !namespaced || all {
		return "No resources found"
	}
	return fmt.Sprintf("No resources found in %s namespace.", ns)
}

// printWatched prints one object seen by a watch.
func (p *getPrinter) printWatched(event string, res *apis.Resource, obj apis.Object) error {
	switch p.o.output {
	case outputName:
		_, err := fmt.Fprintln(p.f.Out, objectName(res, obj))
		return err
	case outputYAML:
		if _, err := fmt.Fprintln(p.f.Out, "---"); err != nil {
			return err
		}
		return writeObject(p.f.Out, outputYAML, obj)
	case outputJSON:
		return writeObject(p.f.Out, outputJSON, obj)
	}
	tp := p.table(res)
	tp.now = p.f.now()
	tp.add(event, obj)
	return tp.flush()
}

// watch follows the changes of t's kind after what was printed, until the
// context ends. A stream the server closes is reopened from the last
// version seen; an expired version ends the command with an error.
func (p *getPrinter) watch(ctx context.Context, c Client, t *getTarget, ns string) error {
	opts := ListOptions{LabelSelector: p.o.labelSelector, FieldSelector: p.o.fieldSelector}
	names := map[string]bool{}
	for _, n := range t.sel.names {
		names[n] = true
	}
	if len(t.sel.names) == 1 {
		opts.FieldSelector = joinSelectors(opts.FieldSelector, "metadata.name="+t.sel.names[0])
	}
	watchNS := namespaceFor(t.res, ns, p.o.allNamespaces)
	rv := t.resourceVersion
	if rv == "" {
		// Named objects were read one by one: start after the newest.
		for _, obj := range t.objs {
			if v := obj.GetMetadata().GetResourceVersion(); len(v) > len(rv) || (len(v) == len(rv) && v > rv) {
				rv = v
			}
		}
	}
	if p.o.watchOnly && t.listed {
		// Nothing was printed: the list's version is where to start.
		rv = t.resourceVersion
	}
	for reopened := false; ; reopened = true {
		if reopened {
			if err := p.f.sleep(ctx, watchReopenDelay); err != nil {
				return nil
			}
		}
		opts.ResourceVersion = rv
		w, err := c.Watch(ctx, t.res, watchNS, opts)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for {
			ev, err := w.Recv()
			if err != nil {
				w.Close()
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, io.EOF) {
					break // the server ended the stream: reopen from rv
				}
				return err
			}
			if ev.ResourceVersion != "" {
				rv = ev.ResourceVersion
			}
			if ev.Type == EventBookmark || ev.Object == nil {
				continue
			}
			if len(names) > 0 && !names[ev.Object.GetMetadata().GetName()] {
				continue
			}
			if err := p.printWatched(ev.Type, t.res, ev.Object); err != nil {
				w.Close()
				return err
			}
		}
	}
}

// watchReopenDelay spaces the reopening of a watch the server closed.
const watchReopenDelay = time.Second

func joinSelectors(a, b string) string {
	if a == "" {
		return b
	}
	return strings.Join([]string{a, b}, ",")
}
