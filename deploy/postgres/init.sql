-- Tables of the sample triggers (examples/triggers). Debezium captures them
-- through the pgoutput logical decoding plugin (wal_level=logical is set on
-- the server's command line in docker-compose.yml).
CREATE TABLE IF NOT EXISTS public.users (
    id         serial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text,
    status     text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.orders (
    id         serial PRIMARY KEY,
    user_id    integer REFERENCES public.users (id),
    status     text NOT NULL DEFAULT 'pending',
    total      numeric(12, 2) NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- REPLICA IDENTITY FULL makes updates and deletes carry the whole previous
-- row (Debezium's "before"), which conditions such as
-- previousRecord.status NOT_EQUALS cancelled need. The default identity
-- only carries the primary key.
ALTER TABLE public.users REPLICA IDENTITY FULL;
ALTER TABLE public.orders REPLICA IDENTITY FULL;
