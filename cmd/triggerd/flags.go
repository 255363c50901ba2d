package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The flags several commands share are defined here, once, so that a flag
// name means one thing everywhere: the same short flag, the same type, and
// the same usage up to a last parenthesis saying what is particular to the
// command (cli_consistency_test.go checks the whole command tree).

// fileFlag adds -f/--file, the file a command reads its input from; what
// says what the input is (and whether - reads stdin).
func fileFlag(cmd *cobra.Command, p *string, what string, required bool) {
	cmd.Flags().StringVarP(p, "file", "f", "", "read the input from this file ("+what+")")
	if required {
		_ = cmd.MarkFlagRequired("file")
	}
}

// readInput reads the file a -f/--file names: - is stdin.
func readInput(stdin io.Reader, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(path)
}

// outputFlag adds -o/--output, the format of what a command prints; formats
// lists the values, the first being the default.
func outputFlag(cmd *cobra.Command, p *string, formats ...string) {
	cmd.Flags().StringVarP(p, "output", "o", formats[0], "output format ("+joinOr(formats)+")")
}

// checkOutput returns the error of an --output value not in formats.
func checkOutput(output string, formats ...string) error {
	for _, f := range formats {
		if output == f {
			return nil
		}
	}
	return fmt.Errorf("--output: want %s, got %q", joinOr(formats), output)
}

// limitFlag adds -n/--limit, how many entries of a list to print.
func limitFlag(cmd *cobra.Command, p *int, def int) {
	cmd.Flags().IntVarP(p, "limit", "n", def, "at most this many (newest first)")
}

// triggersFlag adds --triggers, the trigger definitions a command reads;
// note says where they come from without it, or what is done with them.
func triggersFlag(cmd *cobra.Command, p *string, def, note string) {
	cmd.Flags().StringVar(p, "triggers", def, "trigger definitions: a file or a directory ("+note+")")
}

// kafkaBrokersFlag adds --kafka-brokers, named after the key it stands
// for (kafka.brokers); note says what happens without it.
func kafkaBrokersFlag(cmd *cobra.Command, p *[]string, note string) {
	cmd.Flags().StringSliceVar(p, "kafka-brokers", nil, "Kafka brokers, host:port,... ("+note+")")
}

// joinOr writes words as "a, b or c".
func joinOr(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// Former spellings. A command or flag renamed for consistency keeps
// working for the scripts that use it: hidden from help, with a note on
// stderr (never stdout, which scripts read) naming what to use instead.
const (
	// deprecatedAnnotation, on a hidden command or flag, holds the
	// spelling to use instead.
	deprecatedAnnotation = "triggerd/deprecated"
	// deprecatedNoArgsAnnotation, on a command, holds what to use instead
	// of calling it without arguments (`quotas get` used to list).
	deprecatedNoArgsAnnotation = "triggerd/deprecated-without-args"
)

// deprecatedCommand returns c, the former spelling of the command use
// (its full path: "triggerd serve"), hidden.
func deprecatedCommand(c *cobra.Command, use string) *cobra.Command {
	c.Hidden = true
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[deprecatedAnnotation] = use
	return c
}

// deprecatedFlag adds the hidden flag --name to cmd, the former spelling
// of --use, which must exist: both set the same value.
func deprecatedFlag(cmd *cobra.Command, name, use string) {
	f := cmd.Flags().Lookup(use)
	cmd.Flags().AddFlag(&pflag.Flag{
		Name: name, Value: f.Value, DefValue: f.DefValue, NoOptDefVal: f.NoOptDefVal,
		Usage: "former spelling of --" + use, Hidden: true,
		Annotations: map[string][]string{deprecatedAnnotation: {"--" + use}},
	})
}

// warnDeprecated prints a note on stderr for every former spelling the
// command line used. It runs before every command.
func (a *app) warnDeprecated(cmd *cobra.Command, args []string) {
	for c := cmd; c != nil; c = c.Parent() {
		if use, ok := c.Annotations[deprecatedAnnotation]; ok {
			fmt.Fprintf(a.stderr, "triggerd: %q is deprecated: use %q\n", c.CommandPath(), use)
		}
	}
	if use, ok := cmd.Annotations[deprecatedNoArgsAnnotation]; ok && len(args) == 0 {
		fmt.Fprintf(a.stderr, "triggerd: %q without an argument is deprecated: use %q\n", cmd.CommandPath(), use)
	}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if use := f.Annotations[deprecatedAnnotation]; len(use) > 0 {
			fmt.Fprintf(a.stderr, "triggerd: --%s is deprecated: use %s\n", f.Name, use[0])
		}
	})
}
