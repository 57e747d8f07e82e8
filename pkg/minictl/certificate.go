package minictl

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	v1 "minik8s/api/proto/minik8s/v1"
)

// csrApprover is what `certificate approve|deny` needs beyond Client.
type csrApprover interface {
	ApproveCSR(ctx context.Context, name, reason, message string) (*v1.CertificateSigningRequest, error)
	DenyCSR(ctx context.Context, name, reason, message string) (*v1.CertificateSigningRequest, error)
}

func newCertificateCommand(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certificate SUBCOMMAND",
		Short: "Modify certificate resources",
		Long:  "Modify certificate resources.",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newCertificateDecisionCommand(f, "approve", "Approve a certificate signing request",
			"Approve a certificate signing request.\n\nminictl certificate approve allows a cluster admin to approve a certificate signing request (CSR). This action tells a certificate signing controller to issue a certificate to the requester with the attributes requested in the CSR.\n\nSECURITY NOTICE: Depending on the requested attributes, the issued certificate can potentially grant a requester access to cluster resources or to authenticate as a requested identity. Before approving a CSR, ensure you understand what the signed certificate can do.",
			"KubectlApprove", "This CSR was approved by minictl certificate approve.", "approved",
			func(a csrApprover) func(context.Context, string, string, string) (*v1.CertificateSigningRequest, error) {
				return a.ApproveCSR
			}),
		newCertificateDecisionCommand(f, "deny", "Deny a certificate signing request",
			"Deny a certificate signing request.\n\nminictl certificate deny allows a cluster admin to deny a certificate signing request (CSR). This action tells a certificate signing controller to not to issue a certificate to the requester.",
			"KubectlDeny", "This CSR was denied by minictl certificate deny.", "denied",
			func(a csrApprover) func(context.Context, string, string, string) (*v1.CertificateSigningRequest, error) {
				return a.DenyCSR
			}),
	)
	return cmd
}

func newCertificateDecisionCommand(f *Factory, verb, short, long, reason, message, done string,
	decide func(csrApprover) func(context.Context, string, string, string) (*v1.CertificateSigningRequest, error)) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " (-f FILENAME | NAME)",
		Short:   short,
		Long:    long,
		Example: "  # " + short + " 'csr-sqgzp'\n  minictl certificate " + verb + " csr-sqgzp",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := ClientAs[csrApprover](f)
			if err != nil {
				return err
			}
			var errs errorList
			for _, name := range args {
				if _, err := decide(a)(cmd.Context(), name, reason, message); err != nil {
					errs = append(errs, AsServerError(err))
					continue
				}
				fmt.Fprintf(f.Out, "certificatesigningrequest.certificates.k8s.io/%s %s\n", name, done)
			}
			return errs.orNil()
		},
	}
}
