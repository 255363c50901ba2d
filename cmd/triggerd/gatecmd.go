package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/triggerd/triggerd/gate/gateclient"
)

// gateCmd asks a running triggerd's gate about records, as an application
// would before writing them: handy to try before-triggers by hand.
func (a *app) gateCmd() *cobra.Command {
	var path, prevPath, userJSON string
	var server *apiTarget
	cmd := &cobra.Command{
		Use:   "gate <table> <operation> -f <records.json>",
		Short: "Ask the gate about records before writing them: the records to write, or every violation",
		Long: `gate sends records (a JSON array of objects, or one object) to the gate of
a running triggerd (POST /v1/gate/{table}/{operation}, the operation being
insert, update or delete) and prints the records to write as JSON, or, when
a before-trigger rejects the batch, every violation, and exits 1. See
docs/gate.md.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rows, err := readRecords(cmd.InOrStdin(), path)
			if err != nil {
				return fmt.Errorf("--file: %w", err)
			}
			var prev []map[string]any
			if prevPath != "" {
				if prev, err = readRecords(cmd.InOrStdin(), prevPath); err != nil {
					return fmt.Errorf("--previous-file: %w", err)
				}
			}
			var opts []gateclient.CallOption
			if userJSON != "" {
				var u map[string]any
				if err := json.Unmarshal([]byte(userJSON), &u); err != nil {
					return fmt.Errorf("--user: want a JSON object: %w", err)
				}
				opts = append(opts, gateclient.User(u))
			}
			out, err := a.gateClient(server).Do(cmd.Context(), args[0], args[1], rows, prev, opts...)
			var ve *gateclient.ValidationError
			if errors.As(err, &ve) {
				for _, e := range ve.Errors {
					field := ""
					if e.Field != "" {
						field = e.Field + ": "
					}
					fmt.Fprintf(a.stdout, "✗ record %d: %s%s (%s %s)\n", e.Index, field, e.Message, e.Trigger, e.Rule)
				}
				return reportedError{"rejected"}
			}
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, string(b))
			return err
		},
	}
	server = a.serverFlag(cmd, false)
	fileFlag(cmd, &path, "the records, a JSON array of objects or one object; - reads stdin", true)
	cmd.Flags().StringVar(&prevPath, "previous-file", "", "read the previous records of an update from this file (as --file)")
	// --previous took a file here, and a JSON row in publish.
	deprecatedFlag(cmd, "previous", "previous-file")
	cmd.Flags().StringVar(&userJSON, "user", "", `who writes, a JSON object ('{"id": "u-7"}')`)
	return cmd
}

// readRecords reads a JSON array of objects, or one object, from a file
// (- for stdin).
func readRecords(stdin io.Reader, path string) ([]map[string]any, error) {
	data, err := readInput(stdin, path)
	if err != nil {
		return nil, err
	}
	var rows []map[string]any
	if err := json.Unmarshal(data, &rows); err == nil {
		return rows, nil
	}
	var one map[string]any
	if err := json.Unmarshal(data, &one); err != nil {
		return nil, errors.New("want a JSON array of objects, or one object")
	}
	return []map[string]any{one}, nil
}
