package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
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
