package minictl

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	v1 "minik8s/api/proto/minik8s/v1"
	"minik8s/pkg/apis"
	"minik8s/pkg/apis/errdefs"
	"minik8s/pkg/minictl/kubeadm"
	"minik8s/pkg/pki"
	"minik8s/pkg/pki/kubeconfig"
)

// tokenIDRE is a bare token ID, as `token delete` accepts it.
var tokenIDRE = regexp.MustCompile(`^[a-z0-9]{6}$`)

// tokenGroupRE is what an extra group must look like.
var tokenGroupRE = regexp.MustCompile(`^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$`)

func newTokenCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage bootstrap tokens",
		Long: `This command manages bootstrap tokens. It is optional and needed only for advanced use cases.

In short, bootstrap tokens are used for establishing bidirectional trust between a client and a server.
A bootstrap token can be used when a client (for example a node that is about to join the cluster) needs
to trust the server it is talking to. Then a bootstrap token with the "signing" usage can be used.
Bootstrap tokens can also function as a way to allow short-lived authentication to the API Server
(the token serves as a way for the API Server to trust the client), for example for doing the TLS Bootstrap.

A bootstrap token is a Secret bootstrap-token-<id> of type bootstrap.kubernetes.io/token in kube-system,
as in Kubernetes; tokens are of the form "[a-z0-9]{6}.[a-z0-9]{16}".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTokenCreateCommand(f), newTokenListCommand(f), newTokenDeleteCommand(f), newTokenGenerateCommand(f))
	return cmd
}

type tokenCreateOptions struct {
	ttl              time.Duration
	printJoinCommand bool
	description      string
	usages           []string
	groups           []string
}

func newTokenCreateCommand(f *Factory) *cobra.Command {
	o := &tokenCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create [token]",
		Short: "Create bootstrap tokens on the server",
		Long: `This command will create a bootstrap token for you.
You can specify the usages for this token, the "time to live" and an optional human friendly description.

The [token] is the actual token to write.
This should be a securely generated random token of the form "[a-z0-9]{6}.[a-z0-9]{16}".
If no [token] is given, minictl will generate a random token instead.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTokenCreate(cmd.Context(), f, o, args)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&o.ttl, "ttl", kubeadm.DefaultTokenTTL, "The duration before the token is automatically deleted (e.g. 1s, 2m, 3h). If set to '0', the token will never expire")
	fl.BoolVar(&o.printJoinCommand, "print-join-command", false, "Instead of printing only the token, print the full 'minictl join' flag needed to join the cluster using the token.")
	fl.StringVar(&o.description, "description", "", "A human friendly description of how this token is used.")
	fl.StringSliceVar(&o.usages, "usages", kubeadm.DefaultTokenUsages(), fmt.Sprintf("Describes the ways in which this token can be used. You can pass --usages multiple times or provide a comma separated list of options. Valid options: [%s]", strings.Join(kubeadm.ValidTokenUsages(), ",")))
	fl.StringSliceVar(&o.groups, "groups", []string{kubeadm.DefaultTokenGroup}, "Extra groups that this token will authenticate as when used for authentication. Must match \"system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]\"")
	return cmd
}

func runTokenCreate(ctx context.Context, f *Factory, o *tokenCreateOptions, args []string) error {
	if o.ttl < 0 {
		return fmt.Errorf("--ttl %s must not be negative", o.ttl)
	}
	raw := ""
	if len(args) == 1 {
		raw = args[0]
	} else {
		var err error
		if raw, err = pki.GenerateToken(); err != nil {
			return err
		}
	}
	tok, err := pki.ParseToken(raw)
	if err != nil {
		return fmt.Errorf("the token %q is not of the form %q", raw, pki.TokenFormat)
	}
	for _, u := range o.usages {
		if !slices.Contains(kubeadm.ValidTokenUsages(), u) {
			return fmt.Errorf("invalid bootstrap token usage string: %s, valid usage options: %s", u, strings.Join(kubeadm.ValidTokenUsages(), ","))
		}
	}
	for _, g := range o.groups {
		if !tokenGroupRE.MatchString(g) {
			return fmt.Errorf("bootstrap group %q is invalid (must match %s)", g, tokenGroupRE)
		}
	}
	bt := &kubeadm.BootstrapToken{Token: tok, Description: o.description, Usages: o.usages, Groups: o.groups}
	if o.ttl > 0 {
		bt.Expires = f.now().Add(o.ttl)
	}
	// The join command needs the kubeconfig's cluster: check it before
	// anything is written.
	var endpoint, caHash string
	if o.printJoinCommand {
		kc, err := kubeconfig.Load(f.Kubeconfig())
		if err != nil {
			return err
		}
		server, caPEM, err := kubeadm.ClusterOf(kc)
		if err != nil {
			return fmt.Errorf("kubeconfig %s: %w", f.Kubeconfig(), err)
		}
		if caHash, err = kubeadm.CAHashOf(caPEM); err != nil {
			return fmt.Errorf("kubeconfig %s: %w", f.Kubeconfig(), err)
		}
		endpoint = kubeadm.Endpoint(server)
	}
	c, err := f.Client()
	if err != nil {
		return err
	}
	secrets, _ := apis.Lookup("secrets")
	if _, err := c.Create(ctx, secrets, bt.Secret()); err != nil {
		if errdefs.IsAlreadyExists(err) {
			return fmt.Errorf("a token with id %q already exists", tok.ID)
		}
		return err
	}
	if slices.Contains(o.usages, "signing") {
		// The apiserver signs cluster-info with every signing token within
		// seconds; signing it now makes the token usable at once.
		if err := updateClusterInfo(ctx, c, func(cm *v1.ConfigMap) error { return kubeadm.SignClusterInfo(cm, tok) }); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("sign cluster-info with the new token: %w", err)
		}
	}
	if o.printJoinCommand {
		_, err = fmt.Fprintln(f.Out, kubeadm.JoinCommand(endpoint, tok, caHash))
		return err
	}
	_, err = fmt.Fprintln(f.Out, tok.String())
	return err
}

// updateClusterInfo changes kube-public/cluster-info, redoing the
// read-modify-write when another writer came first.
func updateClusterInfo(ctx context.Context, c Client, change func(*v1.ConfigMap) error) error {
	cms, _ := apis.Lookup("configmaps")
	for attempt := 0; ; attempt++ {
		obj, err := c.Get(ctx, cms, kubeadm.KubePublicNamespace, kubeadm.ClusterInfoConfigMap)
		if err != nil {
			return err
		}
		cm := proto.Clone(obj).(*v1.ConfigMap)
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		before := proto.Clone(cm)
		if err := change(cm); err != nil {
			return err
		}
		if proto.Equal(before, cm) {
			return nil
		}
		_, err = c.Update(ctx, cms, cm)
		if errdefs.IsConflict(err) && attempt < 5 {
			continue
		}
		return err
	}
}

func newTokenListCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List bootstrap tokens on the server",
		Long:  "This command will list all bootstrap tokens for you.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			secrets, _ := apis.Lookup("secrets")
			list, err := c.List(cmd.Context(), secrets, kubeadm.KubeSystemNamespace, ListOptions{})
			if err != nil {
				return err
			}
			tw := newTableWriter(f.Out)
			rows := 0
			for _, obj := range list.Items {
				s, ok := obj.(*v1.Secret)
				if !ok || s.GetType() != kubeadm.BootstrapTokenSecretType {
					continue
				}
				bt, err := kubeadm.BootstrapTokenFromSecret(s)
				if err != nil {
					fmt.Fprintf(f.ErrOut, "[token] skipping secret %q: %v\n", s.GetMetadata().GetName(), err)
					continue
				}
				if rows == 0 {
					tw.Row("TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA GROUPS")
				}
				rows++
				tw.Row(tokenRow(bt, f.now())...)
			}
			return tw.Flush()
		},
	}
}

// tokenRow is a row of `token list`, as kubeadm prints it.
func tokenRow(bt *kubeadm.BootstrapToken, now time.Time) []string {
	ttl, expires := "<forever>", "<never>"
	if !bt.Expires.IsZero() {
		ttl = shortHumanDuration(bt.Expires.Sub(now))
		expires = bt.Expires.UTC().Format(time.RFC3339)
	}
	usages := slices.Clone(bt.Usages)
	slices.Sort(usages)
	desc := bt.Description
	if desc == "" {
		desc = "<none>"
	}
	return []string{bt.Token.String(), ttl, expires, strings.Join(usages, ","), desc, strings.Join(bt.Groups, ",")}
}

// shortHumanDuration is Kubernetes' duration.ShortHumanDuration: the
// largest unit only, "<invalid>" for what lies in the past.
func shortHumanDuration(d time.Duration) string {
	if s := int(d.Seconds()); s < -1 {
		return "<invalid>"
	} else if s < 0 {
		return "0s"
	} else if s < 60 {
		return fmt.Sprintf("%ds", s)
	} else if m := int(d.Minutes()); m < 60 {
		return fmt.Sprintf("%dm", m)
	} else if h := int(d.Hours()); h < 24 {
		return fmt.Sprintf("%dh", h)
	} else if h < 24*365 {
		return fmt.Sprintf("%dd", h/24)
	} else {
		return fmt.Sprintf("%dy", int(d.Hours()/24/365))
	}
}

func newTokenDeleteCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "delete [token-value] ...",
		Short: "Delete bootstrap tokens on the server",
		Long: `This command will delete a list of bootstrap tokens for you.

The [token-value] is the full Token of the form "[a-z0-9]{6}.[a-z0-9]{16}" or the
Token ID of the form "[a-z0-9]{6}" to delete.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.Client()
			if err != nil {
				return err
			}
			secrets, _ := apis.Lookup("secrets")
			for _, a := range args {
				id := a
				if tok, err := pki.ParseToken(a); err == nil {
					id = tok.ID
				} else if !tokenIDRE.MatchString(a) {
					return fmt.Errorf("given token didn't match pattern %q or %q", pki.TokenFormat, tokenIDRE.String()[1:len(tokenIDRE.String())-1])
				}
				name := kubeadm.BootstrapTokenSecretPrefix + id
				if _, _, err := c.Delete(cmd.Context(), secrets, kubeadm.KubeSystemNamespace, name, DeleteOptions{}); err != nil {
					return fmt.Errorf("failed to delete bootstrap token %q: %w", id, err)
				}
				// Its signature stops vouching for cluster-info at once (the
				// apiserver would drop it within seconds anyway).
				_ = updateClusterInfo(cmd.Context(), c, func(cm *v1.ConfigMap) error {
					delete(cm.Data, kubeadm.ClusterInfoSignaturePrefix+id)
					return nil
				})
				fmt.Fprintf(f.Out, "bootstrap token %q deleted\n", id)
			}
			return nil
		},
	}
}

func newTokenGenerateCommand(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "generate",
		Short: "Generate and print a bootstrap token, but do not create it on the server",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tok, err := pki.GenerateToken()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(f.Out, tok)
			return err
		},
	}
}
