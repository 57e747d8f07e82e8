// Package pki is the public-key infrastructure of minik8s, shaped like
// kubeadm's: ECDSA P-256 keys, a self-signed CA (10 years) per trust domain
// (cluster, front proxy, etcd), leaf certificates (1 year) signed by a CA
// with a given subject, SANs and usages, PEM files with kubeadm's names and
// modes (keys 0600, certificates 0644) and load-or-create semantics, the CA
// hash that pins a cluster during join, certificate signing requests,
// bootstrap tokens, the detached JWS that signs cluster-info, and the one
// place where TLS configurations for servers and clients are built.
//
// The package is a leaf: it imports nothing of minik8s except errdefs.
package pki
