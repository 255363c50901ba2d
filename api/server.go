package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// ServerLimits bound what a client can hold of the HTTP server: how long
// it may take to send a request, to read an answer, or keep an idle
// connection, and how large its headers may be. A zero field means its
// default.
type ServerLimits struct {
	// ReadTimeout bounds reading a whole request, body included: a body
	// sent a byte at a time is cut off.
	ReadTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (and waiting
	// for the first request on a new connection).
	ReadHeaderTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the
	// end of the answer.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle that long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
}

// Defaults of ServerLimits.
const (
	DefaultReadTimeout       = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

func (l ServerLimits) withDefaults() ServerLimits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ReadTimeout, DefaultReadTimeout)
	def(&l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&l.WriteTimeout, DefaultWriteTimeout)
	def(&l.IdleTimeout, DefaultIdleTimeout)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// NewHTTPServer returns the server the API is served with: h under the
// limits (defaults for zero fields), over TLS when tlsConfig is not nil
// (Serve it with ServeTLS(ln, "", "")). The server's own errors (failed
// handshakes, timeouts) go to log at debug level: they are the clients'.
func NewHTTPServer(h http.Handler, l ServerLimits, tlsConfig *tls.Config, log *slog.Logger) *http.Server {
	l = l.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		Handler:           h,
		ReadTimeout:       l.ReadTimeout,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		TLSConfig:         tlsConfig,
	}
}

// TLSOptions configure the API's TLS listener.
type TLSOptions struct {
	CertFile, KeyFile string
	// ClientCAFile, if set, verifies client certificates (mTLS); Auth
	// maps the verified ones to names and scopes.
	ClientCAFile string
	// RequireClientCert refuses connections without a verified client
	// certificate; otherwise one is asked for but bearer tokens still
	// work without.
	RequireClientCert bool
}

// TLSConfig builds the listener's TLS configuration (TLS 1.2 at least).
func TLSConfig(o TLSOptions) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("api.tls: load certificate: %w", err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if o.ClientCAFile != "" {
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("api.tls.clientCaFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("api.tls.clientCaFile: no PEM certificate in it")
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.VerifyClientCertIfGiven
		if o.RequireClientCert {
			c.ClientAuth = tls.RequireAndVerifyClientCert
		}
	} else if o.RequireClientCert {
		return nil, errors.New("api.tls.requireClientCert needs api.tls.clientCaFile")
	}
	return c, nil
}
