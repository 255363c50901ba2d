package ingest

// sourceTransaction is Event.Transaction of a Debezium change event: the
// id of the source transaction, the same for every event of the
// transaction and for its END on the transaction metadata topic.
//
//   - payload.transaction.id when the connector provides transaction
//     metadata (provide.transaction.metadata=true), normalised by
//     transactionKey: PostgreSQL's "<txid>:<lsn>" differs for every event
//     of a transaction and becomes the txid;
//   - else the connector's transaction field in source: txId (PostgreSQL,
//     Oracle), commit_lsn (SQL Server, Db2), gtid (MySQL with GTIDs),
//     lsid and txnNumber (MongoDB multi-document transactions).
//
// Without any of them (MySQL without GTIDs, no transaction metadata) the
// event has no transaction, and `for: all` batches it by offset bucket.
func sourceTransaction(payload, src map[string]any) string {
	if tx, ok := payload["transaction"].(map[string]any); ok {
		if id := scalarString(tx["id"]); id != "" {
			return transactionKey(id)
		}
	}
	for _, f := range []string{"txId", "commit_lsn", "gtid"} {
		if id := scalarString(src[f]); id != "" {
			return id
		}
	}
	if lsid, n := scalarString(src["lsid"]), scalarString(src["txnNumber"]); lsid != "" && n != "" {
		return lsid + ":" + n
	}
	return ""
}

// heartbeatSchema names the value schema of Debezium's heartbeat messages.
const heartbeatSchema = "io.debezium.connector.common.Heartbeat"

// isHeartbeat reports whether obj is a Debezium heartbeat message
// ({"ts_ms":…} on __debezium-heartbeat.<prefix>), wrapped in the
// JsonConverter's schema envelope or not: skipped, never dead-lettered.
func isHeartbeat(obj map[string]any) bool {
	if schema, ok := obj["schema"].(map[string]any); ok {
		name, _ := schema["name"].(string)
		return name == heartbeatSchema
	}
	_, ok := obj["ts_ms"]
	return ok && len(obj) == 1
}
