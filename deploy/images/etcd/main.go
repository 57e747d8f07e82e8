// Command etcd is the etcd server, built from the go.etcd.io/etcd/server/v3
// module of go.mod (the same version the apiserver's client speaks), so that
// the minik8s/etcd image needs no registry: the static binary is copied into
// an image FROM scratch by deploy/images/build.sh.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
