package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/triggerstore"
)

// testCA issues certificates for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate (and its key, as PEM) for tmpl's names.
func (ca *testCA) issue(t *testing.T, tmpl *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func (ca *testCA) client(t *testing.T, tmpl *x509.Certificate) tls.Certificate {
	t.Helper()
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	c, k := ca.issue(t, tmpl)
	pair, err := tls.X509KeyPair(c, k)
	require.NoError(t, err)
	return pair
}

// TestMutualTLS serves the API with api.TLSConfig and NewHTTPServer:
// verified client certificates authenticate by subject (common name or a
// URI SAN) with their scopes; without one a bearer token still works; a
// certificate of another CA is refused in the handshake, and one of the
// right CA that maps to no client is just unauthenticated.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "triggerd test CA")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	sc, sk := ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "triggerd"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	tlsConf, err := api.TLSConfig(api.TLSOptions{CertFile: write("server.pem", sc), KeyFile: write("server-key.pem", sk), ClientCAFile: write("ca.pem", ca.pem)})
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

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	clientWith := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	ctx := context.Background()

	orders := api.NewClient(base, api.WithHTTPClient(clientWith(ca.client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "orders-app"}}))))
	tr, err := orders.Create(ctx, doc("by-certificate"))
	require.NoError(t, err)
	assert.Equal(t, "orders-app", tr.UpdatedBy)

	billingClient := api.NewClient(base, api.WithHTTPClient(clientWith(ca.client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "whatever"}, URIs: []*url.URL{billing}}))))
	_, err = billingClient.List(ctx, api.ListOptions{})
	e := wantStatus(t, err, http.StatusForbidden, api.CodeMissingScope)
	assert.Contains(t, e.Message, `"billing" has gate`)

	_, err = api.NewClient(base, api.WithHTTPClient(clientWith()), api.WithToken(opsToken)).List(ctx, api.ListOptions{})
	require.NoError(t, err, "no certificate: the bearer token authenticates")

	_, err = api.NewClient(base, api.WithHTTPClient(clientWith(ca.client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "stranger"}})))).List(ctx, api.ListOptions{})
	wantStatus(t, err, http.StatusUnauthorized, api.CodeUnauthenticated)

	// A certificate of another CA, sent whatever the server asks for
	// (Go's client would otherwise not send it at all).
	rogue := newTestCA(t, "rogue CA")
	rogueCert := rogue.client(t, &x509.Certificate{Subject: pkix.Name{CommonName: "orders-app"}})
	rogueClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rogueCert, nil }}}}
	_, err = api.NewClient(base, api.WithHTTPClient(rogueClient)).List(ctx, api.ListOptions{})
	require.Error(t, err)
	var ae *api.Error
	assert.False(t, errors.As(err, &ae), "refused in the TLS handshake, not by the API: %v", err)

	// With requireClientCert, a connection without a certificate fails.
	strict, err := api.TLSConfig(api.TLSOptions{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server-key.pem"),
		ClientCAFile: filepath.Join(dir, "ca.pem"), RequireClientCert: true})
	require.NoError(t, err)
	assert.Equal(t, tls.RequireAndVerifyClientCert, strict.ClientAuth)
	_, err = api.TLSConfig(api.TLSOptions{CertFile: filepath.Join(dir, "server.pem"), KeyFile: filepath.Join(dir, "server-key.pem"), RequireClientCert: true})
	require.ErrorContains(t, err, "needs api.tls.clientCaFile")
}
