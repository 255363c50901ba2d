package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/triggerd/triggerd/api"
)

// tokenCmd makes API tokens and the hashes the configuration holds.
func (a *app) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make API tokens, and the SHA-256 of a token that api.tokens holds",
		Long: `An API token is a random string a caller sends as Authorization: Bearer
<token>. The configuration never holds it: api.tokens.<name>.sha256 holds
its SHA-256, or api.tokens.<name>.token a {{secret.NAME}} that resolves to
it (docs/security.md).`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "new",
		Short: "Print a new random token and the sha256 to configure for it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			tok := hex.EncodeToString(b)
			sum := sha256.Sum256([]byte(tok))
			fmt.Fprintf(a.stdout, "token:  %s\nsha256: %s\n", tok, hex.EncodeToString(sum[:]))
			fmt.Fprintln(a.stderr, "Give the token to its caller; put only the sha256 in api.tokens.<name>.sha256.")
			return nil
		},
	}, &cobra.Command{
		Use:   "hash",
		Short: "Print the sha256 of a token read from stdin",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			tok := strings.TrimSpace(line)
			if tok == "" {
				if err != nil {
					return fmt.Errorf("read the token from stdin: %w", err)
				}
				return errors.New("no token on stdin")
			}
			if len(tok) < api.MinTokenLength {
				return fmt.Errorf("the token has %d characters: use at least %d random ones (triggerd token new)", len(tok), api.MinTokenLength)
			}
			sum := sha256.Sum256([]byte(tok))
			_, err = fmt.Fprintln(a.stdout, hex.EncodeToString(sum[:]))
			return err
		},
	})
	return cmd
}
