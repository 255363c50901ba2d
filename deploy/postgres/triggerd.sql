-- The trigger store (store.driver: postgres) shared by every triggerd
-- process; triggerd creates its tables itself. Dev credentials only.
CREATE ROLE triggerd LOGIN PASSWORD 'triggerd';
CREATE DATABASE triggerd OWNER triggerd;
