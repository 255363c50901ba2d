package api_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/internal/testpki"
	"github.com/triggerd/triggerd/triggerstore"
)

// TestMutualTLS serves the API with api.TLSConfig and NewHTTPServer:
// verified client certificates authenticate by subject (common name or a
// URI SAN) with their scopes; without one a bearer token still works; a
// certificate of another CA is refused in the handshake, and one of the
// right CA that maps to no client is just unauthenticated.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "triggerd test CA")
	certFile, keyFile := ca.Server(t, dir)
	caFile := ca.WriteCA(t, dir)
	tlsConf, err := api.TLSConfig(api.TLSOptions{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile})
	require.NoError(t, err)

	opsToken := newToken(t)
	billing, _ := url.Parse("spiffe://corp.test/billing")
	auth, err := api.NewAuth(
		api.AcceptClientCertificate("orders-app", "orders-app", api.ScopeTriggersRead, api.ScopeTriggersWrite),
		api.AcceptClientCertificate("billing", billing.String(), api.ScopeGate),
		api.AcceptToken("ops", opsToken, api.ScopeTriggersRead),
	)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := api.NewHTTPServer(api.New(api.Options{Store: triggerstore.NewMemory(), Auth: auth}).Handler(), api.ServerLimits{}, tlsConf, nil)
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "https://" + ln.Addr().String()

	roots := ca.Pool()
	clientWith := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	ctx := context.Background()

	orders := api.NewClient(base, api.WithHTTPClient(clientWith(ca.Client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "orders-app"}}))))
	tr, err := orders.Create(ctx, doc("by-certificate"))
	require.NoError(t, err)
	assert.Equal(t, "orders-app", tr.UpdatedBy)

	billingClient := api.NewClient(base, api.WithHTTPClient(clientWith(ca.Client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "whatever"}, URIs: []*url.URL{billing}}))))
	_, err = billingClient.List(ctx, api.ListOptions{})
	e := wantStatus(t, err, http.StatusForbidden, api.CodeMissingScope)
	assert.Contains(t, e.Message, `"billing" has gate`)

	_, err = api.NewClient(base, api.WithHTTPClient(clientWith()), api.WithToken(opsToken)).List(ctx, api.ListOptions{})
	require.NoError(t, err, "no certificate: the bearer token authenticates")

	_, err = api.NewClient(base, api.WithHTTPClient(clientWith(ca.Client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "stranger"}})))).List(ctx, api.ListOptions{})
	wantStatus(t, err, http.StatusUnauthorized, api.CodeUnauthenticated)

	// A certificate of another CA, sent whatever the server asks for
	// (Go's client would otherwise not send it at all).
	rogue := testpki.NewCA(t, "rogue CA")
	rogueCert := rogue.Client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "orders-app"}})
	rogueClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rogueCert, nil }}}}
	_, err = api.NewClient(base, api.WithHTTPClient(rogueClient)).List(ctx, api.ListOptions{})
	require.Error(t, err)
	var ae *api.Error
	assert.False(t, errors.As(err, &ae), "refused in the TLS handshake, not by the API: %v", err)

	// With requireClientCert, a connection without a certificate fails.
	strict, err := api.TLSConfig(api.TLSOptions{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile, RequireClientCert: true})
	require.NoError(t, err)
	assert.Equal(t, tls.RequireAndVerifyClientCert, strict.ClientAuth)
	_, err = api.TLSConfig(api.TLSOptions{CertFile: certFile, KeyFile: keyFile, RequireClientCert: true})
	require.ErrorContains(t, err, "needs api.tls.clientCaFile")
}
