package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

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
