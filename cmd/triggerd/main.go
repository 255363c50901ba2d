// Command triggerd runs durable database triggers: it reads change events
// from Kafka, matches them against trigger definitions and runs every match
// as a Temporal workflow. See `triggerd --help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// main is the only place that exits: everything below returns errors.
func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}

// execute runs the command line args and returns the process exit code.
// SIGINT and SIGTERM cancel the context, which every long-running command
// treats as a request for a graceful stop.
func execute(args []string, stdout, stderr io.Writer, environ []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr, environ)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		// Problems were already printed one per line by the command.
		if _, ok := err.(reportedError); !ok {
			fmt.Fprintln(stderr, "triggerd:", err)
		}
		return 1
	}
	return 0
}

// reportedError is an error whose details the command already printed; main
// only turns it into exit status 1.
type reportedError struct{ msg string }

func (e reportedError) Error() string { return e.msg }
