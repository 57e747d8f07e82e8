package validation

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "minik8s/api/proto/minik8s/v1"
)

// KeyUsages returns the usages a CertificateSigningRequest may ask for, as
// Kubernetes lists them (sorted).
func KeyUsages() []string { return slices.Clone(keyUsages) }

var keyUsages = []string{
	"any", "cert sign", "client auth", "code signing", "content commitment", "crl sign",
	"data encipherment", "decipher only", "digital signature", "email protection",
	"encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement",
	"key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime",
	"server auth", "signing", "timestamping",
}

// The CSR condition types.
var csrConditionTypes = []string{"Approved", "Denied", "Failed"}

func validateCSR(csr *v1.CertificateSigningRequest) ErrorList {
	errs := ValidateObjectMeta(csr.Metadata, false, NameIsDNSSubdomain, metadataPath)
	sp := NewPath("spec")
	s := csr.GetSpec()
	if err := ParseCSR(s.GetRequest()); err != nil {
		errs = append(errs, Invalid(sp.Child("request"), Omitted{}, err.Error()))
	}
	up := sp.Child("usages")
	if len(s.GetUsages()) == 0 {
		errs = append(errs, Required(up, "usages must be provided"))
	}
	seen := map[string]bool{}
	for i, u := range s.GetUsages() {
		if !slices.Contains(keyUsages, u) {
			errs = append(errs, NotSupported(up.Index(i), u, keyUsages))
		}
		if seen[u] {
			errs = append(errs, Duplicate(up.Index(i), u))
		}
		seen[u] = true
	}
	errs = append(errs, ValidateSignerName(s.GetSignerName(), sp.Child("signerName"))...)
	if v := s.GetExpirationSeconds(); s != nil && s.ExpirationSeconds != nil && v < 600 {
		errs = append(errs, Invalid(sp.Child("expirationSeconds"), int64(v), "may not specify a duration less than 600 seconds (10 minutes)"))
	}

	cp := NewPath("status", "conditions")
	conds := csr.GetStatus().GetConditions()
	errs = append(errs, validateConditions(conds, cp)...)
	var approved, denied bool
	for i, c := range conds {
		if c == nil {
			continue
		}
		switch c.Type {
		case "Approved", "Denied":
			if c.Type == "Approved" {
				approved = true
			} else {
				denied = true
			}
			if c.Status != "" && c.Status != "True" {
				errs = append(errs, NotSupported(cp.Index(i).Child("status"), c.Status, []string{"True"}))
			}
			if approved && denied {
				errs = append(errs, Invalid(cp.Index(i).Child("type"), c.Type, "Approved and Denied conditions are mutually exclusive"))
			}
		case "Failed", "":
		default:
			errs = append(errs, NotSupported(cp.Index(i).Child("type"), c.Type, csrConditionTypes))
		}
	}
	return errs
}

// ParseCSR checks that pemBytes is one PEM "CERTIFICATE REQUEST" whose
// PKCS#10 request parses and carries a valid signature.
func ParseCSR(pemBytes []byte) error {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	return req.CheckSignature()
}

// ValidateSignerName checks a CSR signer name: a domain of at least two
// DNS labels, '/', and a path of DNS subdomains ("kubernetes.io/kubelet-serving").
func ValidateSignerName(name string, p *Path) ErrorList {
	if name == "" {
		return ErrorList{Required(p, "")}
	}
	segments := strings.Split(name, "/")
	if len(segments) != 2 {
		return ErrorList{Invalid(p, name, "must be a fully qualified domain and path of the form 'example.com/signer-name'")}
	}
	var errs ErrorList
	domain, rest := segments[0], segments[1]
	if len(domain) > DNS1123SubdomainMaxLength {
		errs = append(errs, TooLong(p, domain, DNS1123SubdomainMaxLength))
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if msgs := IsDNS1123Label(l); len(msgs) > 0 {
			for _, msg := range msgs {
				errs = append(errs, Invalid(p, domain, fmt.Sprintf("validating label %q: %s", l, msg)))
			}
			break
		}
	}
	if len(labels) < 2 {
		errs = append(errs, Invalid(p, domain, "should be a domain with at least two segments separated by dots"))
	}
	for _, c := range strings.Split(rest, ".") {
		if msgs := IsDNS1123Subdomain(c); len(msgs) > 0 {
			for _, msg := range msgs {
				errs = append(errs, Invalid(p, rest, fmt.Sprintf("validating component %q: %s", c, msg)))
			}
			break
		}
	}
	if maxPath := DNS1123SubdomainMaxLength - DNS1123LabelMaxLength - 1; len(rest) > maxPath {
		errs = append(errs, TooLong(p, rest, maxPath))
	}
	return errs
}
