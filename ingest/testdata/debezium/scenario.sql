-- The SQL of internal/cdctest's TestDebeziumGolden, whose messages are in
-- schemas/ and schemaless/ ($1 is a 10 KB random text).

-- schema
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE types (
  id              int PRIMARY KEY,
  c_numeric_scale numeric(12,2),
  c_numeric       numeric,
  c_money         money,
  c_date          date,
  c_time          time,
  c_timetz        timetz,
  c_timestamp     timestamp,
  c_timestamptz   timestamptz,
  c_interval      interval,
  c_json          json,
  c_jsonb         jsonb,
  c_uuid          uuid,
  c_bool          boolean,
  c_int2          smallint,
  c_int4          integer,
  c_int8          bigint,
  c_float4        real,
  c_float8        double precision,
  c_text          text,
  c_text_array    text[],
  c_int4_array    int4[],
  c_enum          mood,
  c_bytea         bytea,
  c_xml           xml,
  c_bit           bit(4),
  c_varbit        varbit(16)
);
ALTER TABLE types REPLICA IDENTITY FULL;
CREATE TABLE toast (id int PRIMARY KEY, note text, body text);;

-- types insert
INSERT INTO types VALUES (1, 1234.50, 3.14159265358979323846, 12.34, '2024-03-01',
  '13:45:30.123456', '13:45:30.5+02', '2024-03-01 13:45:30.123456', '2024-03-01 13:45:30.123456+00',
  '1 year 2 mons 3 days 04:05:06.789', '{"kind":"a","n":1}', '{"kind": "a", "tags": ["x", "y"]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 32767, 2147483647, 9007199254740993, 1.5, 2.25,
  'héllo "quoted" <b>&', '{a,"b c",NULL}', '{1,2,3}', 'happy', '\xdeadbeef',
  '<order id="1"><total>12.5</total></order>', B'1010', B'110011');

-- types update
UPDATE types SET c_numeric_scale = 99.99, c_text = 'changed', c_enum = 'ok' WHERE id = 1;

-- types delete
DELETE FROM types WHERE id = 1;

-- types insert for the snapshot
INSERT INTO types (id, c_numeric_scale, c_date, c_timestamptz, c_jsonb, c_enum)
  VALUES (2, -0.5, '1969-12-31', '1969-12-31 23:59:59.999999+00', '[]', 'sad');

-- toast insert
INSERT INTO toast VALUES (1, 'first', $1);

-- toast update of another column
UPDATE toast SET note = 'second' WHERE id = 1;

-- toast delete
DELETE FROM toast WHERE id = 1;
