package triggerstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// sqliteSchema mirrors postgresSchema. changed_at holds Unix microseconds
// (SQLite has no timestamp type); spec holds canonical JSON text.
const sqliteSchema = `
CREATE TABLE IF NOT EXISTS triggerd_trigger_versions (
	tag        TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	spec       TEXT,
	deleted    INTEGER NOT NULL DEFAULT 0,
	actor      TEXT    NOT NULL,
	changed_at INTEGER NOT NULL,
	seq        INTEGER NOT NULL UNIQUE,
	PRIMARY KEY (tag, version)
);
CREATE TABLE IF NOT EXISTS triggerd_triggers (
	tag        TEXT    PRIMARY KEY,
	version    INTEGER NOT NULL,
	spec       TEXT,
	deleted    INTEGER NOT NULL,
	actor      TEXT    NOT NULL,
	changed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS triggerd_revision (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	revision INTEGER NOT NULL
);
INSERT OR IGNORE INTO triggerd_revision (id, revision) VALUES (1, 0);
`

// SQLiteStore is the embedded Store: one database file under the data
// directory. Several processes on one machine may open the same file: WAL
// mode lets readers proceed during a write, every write transaction starts
// with BEGIN IMMEDIATE (so the read-check-write sequence holds the database
// write lock from its first statement and cannot interleave with another
// writer), and a busy timeout makes a second writer wait instead of failing.
type SQLiteStore struct {
	db *sql.DB
}

var _ Store = (*SQLiteStore)(nil)

// sqliteBusyTimeout bounds how long a writer waits for another process's
// write transaction; trigger writes are short, so this is generous.
const sqliteBusyTimeout = 10 * time.Second

// OpenSQLite opens (creating if needed) the database file at path, its
// directory and its schema.
func OpenSQLite(path string) (*SQLiteStore, error) {
	// The data directory may not exist yet on a first start.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("triggerstore: create directory for %s: %w", path, err)
	}
	q := url.Values{}
	// Pragmas run in order on every new connection: the busy timeout first so
	// switching to WAL waits for a concurrent opener instead of failing.
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("triggerstore: open sqlite %s: %w", path, err)
	}
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err == nil {
		if _, err = tx.ExecContext(ctx, sqliteSchema); err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("triggerstore: create sqlite schema in %s: %w", path, err)
	}
	return &SQLiteStore{db: db}, nil
}

type sqliteTxn struct{ tx *sql.Tx }

func (t sqliteTxn) latest(ctx context.Context, tag string) (Record, bool, error) {
	rec, err := scanSQLite(t.tx.QueryRowContext(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_triggers WHERE tag = ?`, tag))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("read current version: %w", err)
	}
	return rec, true, nil
}

func (t sqliteTxn) insert(ctx context.Context, rec Record, seq int64) error {
	var spec any
	if rec.Spec != nil {
		spec = string(rec.Spec)
	}
	at := rec.ChangedAt.UnixMicro()
	if _, err := t.tx.ExecContext(ctx,
		`INSERT INTO triggerd_trigger_versions (tag, version, spec, deleted, actor, changed_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		rec.Tag, rec.Version, spec, rec.Deleted, rec.Actor, at, seq); err != nil {
		return fmt.Errorf("insert version %d: %w", rec.Version, err)
	}
	if _, err := t.tx.ExecContext(ctx,
		`INSERT INTO triggerd_triggers (tag, version, spec, deleted, actor, changed_at) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (tag) DO UPDATE SET version = excluded.version, spec = excluded.spec,
		   deleted = excluded.deleted, actor = excluded.actor, changed_at = excluded.changed_at`,
		rec.Tag, rec.Version, spec, rec.Deleted, rec.Actor, at); err != nil {
		return fmt.Errorf("update current version: %w", err)
	}
	return nil
}

func (s *SQLiteStore) Create(ctx context.Context, tag string, spec json.RawMessage, actor string) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeCreate, Tag: tag, Spec: spec}, actor)
}

func (s *SQLiteStore) Update(ctx context.Context, tag string, spec json.RawMessage, actor string, ifVersion int64) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeUpdate, Tag: tag, Spec: spec, IfVersion: ifVersion}, actor)
}

func (s *SQLiteStore) Delete(ctx context.Context, tag, actor string) (Record, error) {
	return one(ctx, s, Change{Kind: ChangeDelete, Tag: tag}, actor)
}

func (s *SQLiteStore) Apply(ctx context.Context, changes []Change, actor string) (recs []Record, err error) {
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE, see OpenSQLite
	if err != nil {
		return nil, fmt.Errorf("triggerstore: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var rev int64
	if err := tx.QueryRowContext(ctx, `SELECT revision FROM triggerd_revision WHERE id = 1`).Scan(&rev); err != nil {
		return nil, fmt.Errorf("triggerstore: read revision: %w", err)
	}
	recs, next, err := applyBatch(ctx, sqliteTxn{tx}, rev, changes, actor)
	if err != nil {
		return nil, fmt.Errorf("triggerstore: %w", err)
	}
	if next != rev {
		if _, err := tx.ExecContext(ctx, `UPDATE triggerd_revision SET revision = ? WHERE id = 1`, next); err != nil {
			return nil, fmt.Errorf("triggerstore: update revision: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("triggerstore: commit: %w", err)
	}
	return recs, nil
}

func (s *SQLiteStore) Get(ctx context.Context, tag string) (Record, error) {
	rec, err := scanSQLite(s.db.QueryRowContext(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_triggers WHERE tag = ? AND deleted = 0`, tag))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("triggerstore: get %q: %w", tag, err)
	}
	return rec, nil
}

func (s *SQLiteStore) List(ctx context.Context) ([]Record, error) {
	recs, err := s.query(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_triggers WHERE deleted = 0 ORDER BY tag`)
	if err != nil {
		return nil, fmt.Errorf("triggerstore: list: %w", err)
	}
	return recs, nil
}

func (s *SQLiteStore) History(ctx context.Context, tag string) ([]Record, error) {
	recs, err := s.query(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_trigger_versions WHERE tag = ? ORDER BY version`, tag)
	if err == nil && len(recs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("triggerstore: history %q: %w", tag, err)
	}
	return recs, nil
}

func (s *SQLiteStore) GetVersion(ctx context.Context, tag string, version int64) (Record, error) {
	rec, err := scanSQLite(s.db.QueryRowContext(ctx,
		`SELECT tag, version, spec, deleted, actor, changed_at FROM triggerd_trigger_versions WHERE tag = ? AND version = ?`, tag, version))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("triggerstore: get %q version %d: %w", tag, version, err)
	}
	return rec, nil
}

func (s *SQLiteStore) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.QueryRowContext(ctx, `SELECT revision FROM triggerd_revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("triggerstore: read revision: %w", err)
	}
	return rev, nil
}

func (s *SQLiteStore) Close() error { return s.db.Close() }

func (s *SQLiteStore) query(ctx context.Context, q string, args ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		rec, err := scanSQLite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

func scanSQLite(row interface{ Scan(...any) error }) (Record, error) {
	var (
		rec  Record
		spec sql.NullString
		at   int64
	)
	if err := row.Scan(&rec.Tag, &rec.Version, &spec, &rec.Deleted, &rec.Actor, &at); err != nil {
		return Record{}, err
	}
	if spec.Valid {
		rec.Spec = json.RawMessage(spec.String)
	}
	rec.ChangedAt = time.UnixMicro(at).UTC()
	return rec, nil
}
