package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
)

// newPrivateTemporalPG is a real Temporal server of the test's own (the
// temporal-server that scripts/services/temporal-pg.sh builds), persisted
// in two databases of its own in the services' PostgreSQL and configured
// by the same template as the shared one
// (scripts/services/temporal-pg/config), on free ports. Killing it loses
// nothing that PostgreSQL committed.
func newPrivateTemporalPG(t *testing.T, servicesDir, tmp string) *privateTemporal {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err, "postgres DSN")
	pass, _ := u.User.Password()
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	db, vis := "chaos_"+suffix, "chaos_"+suffix+"_vis"

	// The databases, with Temporal's own SQL tool; dropped at the end,
	// after the server (cleanups run last-registered first).
	t.Cleanup(func() { dropDatabases(t, dsn, db, vis) })
	sqlTool := filepath.Join(servicesDir, "bin", "temporal-sql-tool")
	conn := []string{"--plugin", "postgres12", "--ep", u.Hostname(), "-p", u.Port(), "-u", u.User.Username(), "--pw", pass}
	for _, d := range []struct{ name, schema string }{{db, "postgresql/v12/temporal"}, {vis, "postgresql/v12/visibility"}} {
		for _, cmd := range [][]string{
			{"create-database"},
			{"setup-schema", "-v", "0.0"},
			{"update-schema", "--schema-name", d.schema},
		} {
			args := append(append(append([]string(nil), conn...), "--db", d.name), cmd...)
			out, err := exec.Command(sqlTool, args...).CombinedOutput()
			require.NoError(t, err, "temporal-sql-tool %v: %s", cmd, out)
		}
	}

	root, err := filepath.Abs("../scripts/services/temporal-pg")
	require.NoError(t, err)
	port := freePortBlock(t)
	pt := &privateTemporal{
		bin: filepath.Join(servicesDir, "bin", "temporal-server"), dir: tmp, port: port,
		addr:        fmt.Sprintf("127.0.0.1:%d", port),
		persistence: fmt.Sprintf("server on PostgreSQL (databases %s, %s)", db, vis),
	}
	pt.p = &proc{name: "temporal", logDir: tmp,
		args: []string{pt.bin, "--root", root, "--config", "config", "--env", "development", "--allow-no-auth", "start"},
		env: []string{
			"TEMPORAL_PG_PORT=" + strconv.Itoa(port), "TEMPORAL_PG_METRICS=off",
			"TEMPORAL_PG_DB=" + db, "TEMPORAL_PG_VISIBILITY_DB=" + vis,
			"TEMPORAL_PG_HOST=" + u.Hostname(), "TEMPORAL_PG_DB_PORT=" + u.Port(),
			"TEMPORAL_PG_USER=" + u.User.Username(), "TEMPORAL_PG_PASSWORD=" + pass,
			"TEMPORAL_PG_DYNAMIC_CONFIG=" + filepath.Join(root, "config", "dynamicconfig", "development.yaml"),
		}}
	pt.setUp = func(t *testing.T) { registerNamespace(t, pt.addr) }
	t.Cleanup(pt.kill)
	return pt
}

// freePortBlock returns a port p such that the ports the server config
// derives from it (p, +1, +2, +6, +10 and 1000 below the gRPC ones) are
// free now.
func freePortBlock(t *testing.T) int {
	t.Helper()
	for range 100 {
		// Below the ephemeral range (32768 and up on Linux), so that no
		// outgoing connection takes one of them before the server binds.
		p := 12000 + rand.IntN(18000)
		free := true
		for _, q := range []int{p, p + 1, p + 2, p + 6, p + 10, p - 1000, p - 999, p - 998, p - 994} {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", q))
			if err != nil {
				free = false
				break
			}
			_ = ln.Close()
		}
		if free {
			return p
		}
	}
	t.Fatal("no free block of ports for the private Temporal server")
	return 0
}

// registerNamespace creates namespace default and triggerd's search
// attributes on a new server, and waits until the namespace answers
// visibility queries (the frontend's namespace cache refreshes every few
// seconds).
func registerNamespace(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: addr})
	require.NoError(t, err)
	defer nc.Close()
	err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: "default", WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	require.NoError(t, err, "register namespace default")

	c, err := client.Dial(client.Options{HostPort: addr, Namespace: "default"})
	require.NoError(t, err)
	defer c.Close()
	sas := map[string]enums.IndexedValueType{}
	for _, name := range run.SearchAttributes() {
		sas[name] = enums.INDEXED_VALUE_TYPE_KEYWORD
	}
	added := false
	for {
		if !added {
			_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
				Namespace: "default", SearchAttributes: sas,
			})
			added = err == nil
		}
		if added {
			_, err = c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default"})
		}
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("namespace default not usable on %s: %v", addr, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func dropDatabases(t *testing.T, dsn string, names ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Logf("drop private Temporal databases: %v", err)
		return
	}
	defer conn.Close(ctx)
	for _, n := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", n, err)
		}
	}
}
