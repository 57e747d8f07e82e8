// Command minictl is the minik8s command line (kubectl's and kubeadm's
// verbs); see pkg/minictl.
package main

import (
	"os"

	"minik8s/pkg/minictl"
)

func main() {
	os.Exit(minictl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
