package triggerstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgresSchema is created idempotently under an advisory lock (see
// OpenPostgres). spec is text holding canonical JSON, not jsonb: jsonb
// rewrites numbers (1e2 becomes 100) and rejects \u0000, so the same
// document would come back as different bytes than from the other drivers
// and the "unchanged update" check would see changes that are not there.
// Query it with spec::jsonb. triggerd_revision is a one-row counter rather than reading
// max(seq) of a bigserial: sequence values are handed out at insert time, not
// commit time, so a poller could see seq 10 committed before seq 9 and then
// miss 9 forever. Locking the counter row makes seq follow commit order.
const postgresSchema = `
CREATE TABLE IF NOT EXISTS triggerd_trigger_versions (
	tag        text        NOT NULL,
	version    bigint      NOT NULL,
	spec       text,
	deleted    boolean     NOT NULL DEFAULT false,
	actor      text        NOT NULL,
	changed_at timestamptz NOT NULL,
	seq        bigint      NOT NULL UNIQUE,
	PRIMARY KEY (tag, version)
);
CREATE TABLE IF NOT EXISTS triggerd_triggers (
	tag        text        PRIMARY KEY,
	version    bigint      NOT NULL,
	spec       text,
	deleted    boolean     NOT NULL,
	actor      text        NOT NULL,
	changed_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS triggerd_revision (
	id       integer PRIMARY KEY CHECK (id = 1),
	revision bigint  NOT NULL
);
INSERT INTO triggerd_revision (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
`

// postgresSchemaLock is the advisory lock key serialising schema creation, so
// two processes starting together do not race on CREATE TABLE IF NOT EXISTS
// (which can fail with a unique violation on pg_type when run concurrently).
const postgresSchemaLock int64 = 0x74726967676572 // "trigger"

// NotifyChannel is the PostgreSQL channel on which every write transaction
// sends the new revision (NOTIFY is delivered only on commit).
const NotifyChannel = "triggerd_triggers"

// PostgresStore is a Store in PostgreSQL, shared by every triggerd process
// of a deployment.
type PostgresStore struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
}

var _ Store = (*PostgresStore)(nil)

// PostgresOption configures OpenPostgres.
type PostgresOption func(*postgresOptions)

type postgresOptions struct {
	schema string
	logger *slog.Logger
}

// WithSchema keeps the tables in the named schema (created if missing) by
// setting search_path on every connection. Tests use it for isolation.
func WithSchema(name string) PostgresOption {
	return func(o *postgresOptions) { o.schema = name }
}

// WithLogger sets the logger used by Changes to report lost connections.
func WithLogger(l *slog.Logger) PostgresOption {
	return func(o *postgresOptions) { o.logger = l }
}

// OpenPostgres connects to dsn and creates the schema if needed.
func OpenPostgres(ctx context.Context, dsn string, opts ...PostgresOption) (*PostgresStore, error) {
	o := postgresOptions{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("triggerstore: parse postgres dsn: %w", err)
	}
	if o.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("triggerstore: connect postgres: %w", err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, postgresSchemaLock); err != nil {
			return err
		}
		if o.schema != "" {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{o.schema}.Sanitize()); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, postgresSchema)
		return err
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("triggerstore: create postgres schema: %w", err)
	}
	return &PostgresStore{pool: pool, logger: o.logger}, nil
}

type postgresTxn struct{ tx pgx.Tx }

func (t postgresTxn) latest(ctx context.Context, tag string) (Record, bool, error) {
	rec, err := scanPostgres(t.tx.QueryRow(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_triggers WHERE tag = $1`, tag))
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("read current version: %w", err)
	}
	return rec, true, nil
}

func (t postgresTxn) insert(ctx context.Context, rec Record, seq int64) error {
	var spec any // untyped nil is SQL NULL
	if rec.Spec != nil {
		spec = string(rec.Spec)
	}
	if _, err := t.tx.Exec(ctx,
		`INSERT INTO triggerd_trigger_versions (tag, version, spec, deleted, actor, changed_at, seq) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		rec.Tag, rec.Version, spec, rec.Deleted, rec.Actor, rec.ChangedAt, seq); err != nil {
		return fmt.Errorf("insert version %d: %w", rec.Version, err)
	}
	if _, err := t.tx.Exec(ctx,
		`INSERT INTO triggerd_triggers (tag, version, spec, deleted, actor, changed_at) VALUES ($1, $2, $3, $4, $5, $6)
		 ON CONFLICT (tag) DO UPDATE SET version = excluded.version, spec = excluded.spec,
		   deleted = excluded.deleted, actor = excluded.actor, changed_at = excluded.changed_at`,
		rec.Tag, rec.Version, spec, rec.Deleted, rec.Actor, rec.ChangedAt); err != nil {
		return fmt.Errorf("update current version: %w", err)
	}
	return nil
}

func (s *PostgresStore) Create(ctx context.Context, tag string, spec json.RawMessage, actor string) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeCreate, Tag: tag, Spec: spec}, actor)
}

func (s *PostgresStore) Update(ctx context.Context, tag string, spec json.RawMessage, actor string, ifVersion int64) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeUpdate, Tag: tag, Spec: spec, IfVersion: ifVersion}, actor)
}

func (s *PostgresStore) Delete(ctx context.Context, tag, actor string) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeDelete, Tag: tag}, actor)
}

// Apply serialises all writers on the triggerd_revision row: it is locked
// first, before any trigger row, so two batches touching the same tags in
// different orders cannot deadlock, and no two writers can compute the same
// next version of a tag. Trigger definitions change rarely; a global writer
// lock costs nothing measurable and keeps seq in commit order.
func (s *PostgresStore) Apply(ctx context.Context, changes []Change, actor string) ([]Record, error) {
	var recs []Record
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var rev int64
		if err := tx.QueryRow(ctx, `SELECT revision FROM triggerd_revision WHERE id = 1 FOR UPDATE`).Scan(&rev); err != nil {
			return fmt.Errorf("lock revision: %w", err)
		}
		var (
			next int64
			err  error
		)
		recs, next, err = applyBatch(ctx, postgresTxn{tx}, rev, changes, actor)
		if err != nil || next == rev {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE triggerd_revision SET revision = $1 WHERE id = 1`, next); err != nil {
			return fmt.Errorf("update revision: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, strconv.FormatInt(next, 10)); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("triggerstore: %w", err)
	}
	return recs, nil
}

func (s *PostgresStore) Get(ctx context.Context, tag string) (Record, error) {
	rec, err := scanPostgres(s.pool.QueryRow(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_triggers WHERE tag = $1 AND NOT deleted`, tag))
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("triggerstore: get %q: %w", tag, err)
	}
	return rec, nil
}

// List sorts with the C collation so the order is byte order, as in the
// other drivers, whatever the database's default collation.
func (s *PostgresStore) List(ctx context.Context) ([]Record, error) {
	recs, err := s.query(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_triggers WHERE NOT deleted ORDER BY tag COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("triggerstore: list: %w", err)
	}
	return recs, nil
}

func (s *PostgresStore) History(ctx context.Context, tag string) ([]Record, error) {
	recs, err := s.query(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_trigger_versions WHERE tag = $1 ORDER BY version`, tag)
	if err == nil && len(recs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("triggerstore: history %q: %w", tag, err)
	}
	return recs, nil
}

func (s *PostgresStore) GetVersion(ctx context.Context, tag string, version int64) (Record, error) {
	rec, err := scanPostgres(s.pool.QueryRow(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_trigger_versions WHERE tag = $1 AND version = $2`, tag, version))
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("triggerstore: get %q version %d: %w", tag, version, err)
	}
	return rec, nil
}

func (s *PostgresStore) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.pool.QueryRow(ctx, `SELECT revision FROM triggerd_revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("triggerstore: read revision: %w", err)
	}
	return rev, nil
}

func (s *PostgresStore) Close() error {
	s.pool.Close()
	return nil
}

// Changes delivers the revision after each committed write, via LISTEN on
// NotifyChannel, until ctx ends (then the channel is closed). It is a hint to
// re-read sooner, not a replacement for polling Revision: notifications sent
// while the listening connection is being re-established are lost, so after
// a reconnect Changes sends the current Revision. Slow receivers see only the
// latest revision (the channel holds one value and older ones are replaced).
func (s *PostgresStore) Changes(ctx context.Context) <-chan int64 {
	out := make(chan int64, 1)
	send := func(rev int64) {
		for {
			select {
			case out <- rev:
				return
			default:
			}
			select { // full: drop the stale value and retry
			case <-out:
			default:
			}
		}
	}
	go func() {
		defer close(out)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := s.listen(ctx, send, func() { backoff = 100 * time.Millisecond })
			if ctx.Err() != nil {
				return
			}
			s.logger.WarnContext(ctx, "triggerstore: listen for changes failed, retrying", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}()
	return out
}

func (s *PostgresStore) listen(ctx context.Context, send func(int64), connected func()) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection that ran LISTEN must not go back to the pool listening:
	// take it out of the pool and close it when done.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{NotifyChannel}.Sanitize()); err != nil {
		return err
	}
	connected()
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	send(rev)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if rev, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			send(rev)
		}
	}
}

func (s *PostgresStore) query(ctx context.Context, q string, args ...any) ([]Record, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		rec, err := scanPostgres(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

func scanPostgres(row pgx.Row) (Record, error) {
	var (
		rec  Record
		spec []byte
	)
	if err := row.Scan(&rec.Tag, &rec.Version, &spec, &rec.Deleted, &rec.Actor, &rec.ChangedAt); err != nil {
		return Record{}, err
	}
	rec.ChangedAt = rec.ChangedAt.UTC()
	if spec != nil {
		rec.Spec = json.RawMessage(spec)
	}
	return rec, nil
}
