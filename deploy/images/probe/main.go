// Command probe is the health-check and start-up helper copied as /probe
// into every minik8s image. The images are FROM scratch: there is no shell,
// no curl and no etcdctl, so Docker health checks and "wait until init has
// written my certificates" need a binary of their own.
//
//	probe http URL                 exit 0 when GET URL answers 200, else 1
//	probe get URL                  print the body of GET URL (exit 1 unless 200)
//	probe file PATH...             exit 0 when every PATH exists
//	probe wait [--timeout D] PATH... -- CMD [ARG...]
//	                               wait until every PATH exists, then exec CMD
//
// URLs are plain HTTP: every component serves its health endpoints and
// metrics without TLS on its metrics address (etcd on --listen-metrics-urls).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

const usage = `usage:
  probe http URL
  probe get URL
  probe file PATH...
  probe wait [--timeout D] PATH... -- CMD [ARG...]
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "http", "get":
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		var out io.Writer = io.Discard
		if args[0] == "get" {
			out = stdout
		}
		if err := get(args[1], out); err != nil {
			fmt.Fprintf(stderr, "probe: %v\n", err)
			return 1
		}
		return 0
	case "file":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		if missing := firstMissing(args[1:]); missing != "" {
			fmt.Fprintf(stderr, "probe: %s does not exist\n", missing)
			return 1
		}
		return 0
	case "wait":
		return wait(args[1:], stderr)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
}

// get fetches url and copies the body to out; anything but 200 is an error.
func get(url string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// firstMissing returns the first path that does not exist, or "".
func firstMissing(paths []string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return p
		}
	}
	return ""
}

// wait polls until every path before "--" exists, then replaces itself with
// the command after it.
func wait(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the files")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	sep := -1
	for i, a := range rest {
		if a == "--" {
			sep = i
			break
		}
	}
	if sep < 1 || sep == len(rest)-1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	paths, cmd := rest[:sep], rest[sep+1:]
	deadline := time.Now().Add(*timeout)
	for {
		missing := firstMissing(paths)
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "probe: %s did not appear within %s\n", missing, *timeout)
			return 1
		}
		time.Sleep(200 * time.Millisecond)
	}
	path, err := exec.LookPath(cmd[0])
	if err != nil {
		fmt.Fprintf(stderr, "probe: %v\n", err)
		return 1
	}
	err = syscall.Exec(path, cmd, os.Environ())
	fmt.Fprintf(stderr, "probe: exec %s: %v\n", path, err)
	return 1
}
