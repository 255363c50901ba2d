package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/triggerd/triggerd/activities"
	"github.com/triggerd/triggerd/config"
)

// dbPools are the pools of the named databases of the database.* actions.
type dbPools map[string]*pgxpool.Pool

// newDatabases builds a pool per configured database. pgxpool connects on
// first use, so a database that is down at start only fails (and retries)
// the actions that use it.
func newDatabases(cfgs map[string]config.Database) (dbPools, error) {
	pools := dbPools{}
	for name, c := range cfgs {
		pool, err := pgxpool.New(context.Background(), c.DSN)
		if err != nil {
			pools.close()
			// pgx's parse errors may quote the DSN, password included.
			return nil, fmt.Errorf("databases.%s: invalid dsn", name)
		}
		pools[name] = pool
	}
	return pools, nil
}

func (p dbPools) dbs() map[string]activities.DB {
	m := make(map[string]activities.DB, len(p))
	for name, pool := range p {
		m[name] = pool
	}
	return m
}

func (p dbPools) close() {
	for _, pool := range p {
		pool.Close()
	}
}

// tableAllowLists are the allow-lists of the databases that have one
// (databases.<name>.tables).
func tableAllowLists(cfgs map[string]config.Database) map[string]activities.TableAllowList {
	out := map[string]activities.TableAllowList{}
	for name, c := range cfgs {
		if c.Tables != nil {
			out[name] = activities.TableAllowList(c.Tables)
		}
	}
	return out
}
