package api_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/triggerstore"
)

// limitedServer serves the API under l on a loopback port.
func limitedServer(t *testing.T, l api.ServerLimits) string {
	t.Helper()
	auth, err := api.NewAuth(api.AllowAnonymous())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := api.NewHTTPServer(api.New(api.Options{Store: triggerstore.NewMemory(), Auth: auth}).Handler(), l, nil, nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// waitClosed reads conn until the server closes it and reports whether
// it did; the deadline is only a safety net.
func waitClosed(t *testing.T, conn net.Conn) bool {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(60*time.Second)))
	_, err := io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	return true // EOF, or a reset: closed by the server
}

// TestSlowAndIdleConnectionsAreClosed: a body sent a byte at a time and
// a keep-alive connection left idle are closed by the server (short
// timeouts are configured; what is checked is that the close happens).
func TestSlowAndIdleConnectionsAreClosed(t *testing.T) {
	addr := limitedServer(t, api.ServerLimits{ReadTimeout: 300 * time.Millisecond, ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})

	t.Run("slow body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "POST /v1/triggers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
		require.NoError(t, err)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a byte every 50ms: 100 KB would take over an hour
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
					if _, err := io.WriteString(conn, " "); err != nil {
						return
					}
				}
			}
		}()
		assert.True(t, waitClosed(t, conn), "the slow request's connection was not closed")
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /v1/triggers HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		rd := bufio.NewReader(conn)
		resp, err := http.ReadResponse(rd, nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.False(t, resp.Close, "kept alive")
		assert.True(t, waitClosed(t, conn), "the idle connection was not closed")
	})

	t.Run("silent new connection", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		assert.True(t, waitClosed(t, conn), "a connection that never sends a request was not closed")
	})
}

// TestHeaderLimit: headers over MaxHeaderBytes are refused (431).
func TestHeaderLimit(t *testing.T) {
	addr := limitedServer(t, api.ServerLimits{MaxHeaderBytes: 4 << 10})
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/triggers", nil)
	req.Header.Set("X-Padding", strings.Repeat("x", 16<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}
