// Package sourcedb reads the captured database itself, for what its change
// events cannot tell: the types of its columns (for events sent without
// their Connect schema, Catalog), whether its tables' replica identity
// gives updates a before image (CheckReplicaIdentity), and the current
// values of a row whose change event lacks some (Fetcher, a trigger's
// refetch). Only PostgreSQL is supported, through pgx.
//
// Every read is a short catalog or primary-key query under the caller's
// timeout; nothing is written.
package sourcedb

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Querier is what the package needs of a connection: *pgxpool.Pool and
// *pgx.Conn satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}
