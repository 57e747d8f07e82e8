#!/usr/bin/env bash
# Starts a local control plane for development: certificates and kubeconfigs
# from `minictl init phase`, then the apiserver on an embedded etcd. Files go
# to .minik8s/local; stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.minik8s/local
port=${MINIK8S_PORT:-6443}
metrics=${MINIK8S_METRICS_PORT:-6080}
mkdir -p "$dir"
bin/minictl init phase certs all --cert-dir "$dir/pki" --apiserver-advertise-address 127.0.0.1 --node-name "$(hostname | tr 'A-Z' 'a-z')"
bin/minictl init phase kubeconfig all --cert-dir "$dir/pki" --kubeconfig-dir "$dir" \
  --apiserver-advertise-address 127.0.0.1 --apiserver-bind-port "$port" --node-name "$(hostname | tr 'A-Z' 'a-z')"
cat <<MSG

The apiserver is starting on 127.0.0.1:$port (metrics on 127.0.0.1:$metrics).
In another shell:

  export MINIK8S_CONFIG=$PWD/$dir/admin.conf
  bin/minictl get namespaces

MSG
exec bin/apiserver \
  --client-ca-file "$dir/pki/ca.crt" \
  --tls-cert-file "$dir/pki/apiserver.crt" \
  --tls-private-key-file "$dir/pki/apiserver.key" \
  --bind-address 127.0.0.1 --secure-port "$port" \
  --data-dir "$dir/etcd" \
  --metrics-bind-address "127.0.0.1:$metrics"
