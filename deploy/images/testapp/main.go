// Command testapp is the test application of minik8s' test image
// (minik8s/testapp:v1). It is a static binary, /testapp, that is also the
// image's entrypoint, and it runs as PID 1 in its container, so it handles
// SIGTERM itself and exits 0 at once.
//
// Subcommands:
//
//	serve --listen :8080   HTTP 200 on every path, body "ok <hostname> <path>"
//	log TEXT               print TEXT every second, forever
//	echo TEXT              print TEXT once, exit 0
//	exit CODE              exit at once with CODE
//	sleep                  sleep forever
//	get URL                HTTP GET URL, print the body, exit 0 on a 2xx answer, else 1
//	cat FILE...            print the files, exit 1 if one cannot be read
//
// The last two let tests look from inside a pod at the network and at the
// files of its volumes (there is no shell, curl or cat in a FROM scratch
// image).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usage = `usage: testapp COMMAND [ARGS]
  serve [--listen :8080]  answer HTTP 200 "ok" on every path
  log TEXT                print TEXT every second, forever
  echo TEXT               print TEXT once and exit 0
  exit CODE               exit with CODE
  sleep                   sleep forever
  get URL                 HTTP GET URL, print the body; exit 0 on 2xx, else 1
  cat FILE...             print the files; exit 1 if one cannot be read
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one subcommand and returns the process exit code. A
// termination signal cancels ctx, and every long-running subcommand then
// returns 0.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "log":
		text := strings.Join(rest, " ")
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			fmt.Fprintln(stdout, text)
			select {
			case <-ctx.Done():
				return 0
			case <-tick.C:
			}
		}
	case "echo":
		fmt.Fprintln(stdout, strings.Join(rest, " "))
		return 0
	case "exit":
		if len(rest) != 1 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		code, err := strconv.Atoi(rest[0])
		if err != nil || code < 0 || code > 255 {
			fmt.Fprintf(stderr, "exit: invalid code %q\n", rest[0])
			return 2
		}
		return code
	case "sleep":
		<-ctx.Done()
		return 0
	case "get":
		if len(rest) != 1 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return get(ctx, rest[0], stdout, stderr)
	case "cat":
		if len(rest) == 0 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return cat(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n%s", cmd, usage)
		return 2
	}
}

// cat prints the files in order; one it cannot read is reported on stderr,
// the others are still printed, and the exit code is 1.
func cat(files []string, stdout, stderr io.Writer) int {
	code := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(stderr, "cat: %v\n", err)
			code = 1
			continue
		}
		_, err = io.Copy(stdout, f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "cat: %s: %v\n", name, err)
			code = 1
		}
	}
	return code
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	host, _ := os.Hostname()
	srv := &http.Server{
		Addr:              *listen,
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "ok %s %s\n", host, r.URL.Path)
		}),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(stdout, "serving on %s\n", *listen)
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "serve: %v\n", err)
	}
	return 0
}

func get(ctx context.Context, url string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "get: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "get: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintf(stderr, "get: %v\n", err)
		return 1
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "get: %s\n", resp.Status)
		return 1
	}
	return 0
}
