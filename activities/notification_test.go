package activities

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/triggerd/triggerd/internal/testenv"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/run/errtype"
)

var orderTemplates = map[string]map[string]MessageTemplate{
	"order-emails": {
		"confirmation": {Subject: "Order Confirmation #{{orderNumber}}", Body: "Hello,\nyour order {{orderNumber}} of {{total}} is confirmed.\nItems: {{items}}"},
	},
	"sms":  {"verification-code": {Body: "Your code is {{code}}"}},
	"push": {"new-message": {Subject: "Message from {{sender}}", Body: "{{preview}}"}},
}

// smtpServer returns the SMTP settings of the shared test server.
func smtpServer(t *testing.T) SMTPSettings {
	host, port, err := net.SplitHostPort(testenv.SMTPAddr(t))
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return SMTPSettings{Host: host, Port: p, From: "orders@shop.example", TLS: SMTPTLSNone}
}

func uniqueAddr(t *testing.T, local string) string {
	return local + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@shop.example"
}

func TestNotifyEmailDeliversRenderedTemplate(t *testing.T) {
	a := New(allowLoopback, WithNotifications(Notifications{SMTP: smtpServer(t), Templates: orderTemplates}))
	rcpt := uniqueAddr(t, "alice")
	req := request(run.TypeNotifyEmail, map[string]any{
		"notification": "order-emails:confirmation",
		"recipients":   []any{rcpt},
		"subject":      map[string]any{"orderNumber": "A-1001"},
		"variables":    map[string]any{"total": 42.5, "items": []any{"mug", "tea"}},
	})
	out, err := a.NotifyEmail(context.Background(), req)
	require.NoError(t, err)
	email := out.(EmailOutput)
	require.Equal(t, "Order Confirmation #A-1001", email.Subject)
	require.Equal(t, []string{rcpt}, email.Recipients)
	require.Regexp(t, `^<[0-9a-f]{32}@shop\.example>$`, email.MessageID)

	// A retry of the same action (same idempotency key) sends the same
	// Message-ID, so the receiver can drop the duplicate.
	out2, err := a.NotifyEmail(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, email.MessageID, out2.(EmailOutput).MessageID)

	msgs := testenv.Mailbox(t, rcpt)
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		h := m.Content.Headers
		require.Equal(t, []string{"Order Confirmation #A-1001"}, h["Subject"])
		require.Equal(t, []string{email.MessageID}, h["Message-ID"])
		require.Equal(t, []string{"orders@shop.example"}, h["From"])
		require.Contains(t, m.Content.Body, "your order A-1001 of 42.5 is confirmed.")
		require.Contains(t, m.Content.Body, `Items: ["mug","tea"]`)
	}

	// Another action gets another Message-ID.
	other := req
	other.IdempotencyKey += "-other"
	out3, err := a.NotifyEmail(context.Background(), other)
	require.NoError(t, err)
	require.NotEqual(t, email.MessageID, out3.(EmailOutput).MessageID)
}

func TestNotifyEmailSubjectStringOverridesTemplate(t *testing.T) {
	a := New(allowLoopback, WithNotifications(Notifications{SMTP: smtpServer(t), Templates: orderTemplates}))
	rcpt := uniqueAddr(t, "bob")
	out, err := a.NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{
		"notification": "order-emails:confirmation", "recipients": rcpt,
		"subject": "Order Cancelled #A-7", "variables": map[string]any{"orderNumber": "A-7"},
	}))
	require.NoError(t, err)
	require.Equal(t, "Order Cancelled #A-7", out.(EmailOutput).Subject)
	msgs := testenv.Mailbox(t, rcpt)
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"Order Cancelled #A-7"}, msgs[0].Content.Headers["Subject"])
}

func TestNotifyEmailRejectedRecipientIsPermanent(t *testing.T) {
	a := New(allowLoopback, WithNotifications(Notifications{SMTP: smtpServer(t), Templates: orderTemplates}))
	_, err := a.NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{
		"notification": "order-emails:confirmation", "recipients": []any{uniqueAddr(t, "reject")},
	}))
	appErr := appError(t, err, errtype.SMTPRejected, false)
	require.Contains(t, appErr.Message(), "550")
}

func TestNotifyEmailUnreachableServerIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	a := New(allowLoopback, WithNotifications(Notifications{
		SMTP:      SMTPSettings{Host: "127.0.0.1", Port: port, From: "a@b.example"},
		Templates: orderTemplates,
	}))
	_, err = a.NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{
		"notification": "order-emails:confirmation", "recipients": "x@y.example",
	}))
	appError(t, err, errtype.ConnRefused, true)
}

func TestNotificationConfigErrors(t *testing.T) {
	a := New(allowLoopback, WithNotifications(Notifications{SMTP: SMTPSettings{Host: "127.0.0.1", Port: 1}, Templates: orderTemplates}))
	for name, tc := range map[string]struct {
		cfg  map[string]any
		typ  string
		want string
	}{
		"unknown template": {map[string]any{"notification": "order-emails:refund", "recipients": "a@b.c"},
			errtype.NotConfigured, "notifications.templates.order-emails.refund"},
		"no message tag": {map[string]any{"notification": "order-emails", "recipients": "a@b.c"},
			errtype.InvalidConfig, "notification_tag:message_tag"},
		"no recipients": {map[string]any{"notification": "order-emails:confirmation"},
			errtype.InvalidConfig, "recipients"},
		"misspelt key": {map[string]any{"notification": "order-emails:confirmation", "recipient": "a@b.c"},
			errtype.InvalidConfig, "recipient"},
		"bad subject": {map[string]any{"notification": "order-emails:confirmation", "recipients": "a@b.c", "subject": 3},
			errtype.InvalidConfig, "subject"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.NotifyEmail(context.Background(), request(run.TypeNotifyEmail, tc.cfg))
			require.Contains(t, appError(t, err, tc.typ, false).Message(), tc.want)
		})
	}
	_, err := New(allowLoopback).NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{"notification": "a:b"}))
	appError(t, err, errtype.NotConfigured, false)
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// startTLSServer starts a private aiosmtpd (the shared one speaks neither
// STARTTLS nor AUTH) that requires both, and returns its port and the
// directory it writes accepted messages to.
func startTLSServer(t *testing.T, certFile, keyFile, password, mode string) (int, string) {
	testenv.SMTPAddr(t) // the service scripts install aiosmtpd
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	out := t.TempDir()
	cmd := exec.Command("/usr/bin/python3", "testdata/smtp_tls_server.py", strconv.Itoa(port), certFile, keyFile, out, mode)
	cmd.Env = append(os.Environ(), "SMTP_PASSWORD="+password)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // tracebacks of the refused handshakes, expected
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
		if t.Failed() {
			t.Log(stderr.String())
		}
	})
	// The script prints "ready" once the controller answers.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	return port, out
}

func TestNotifyEmailStartTLSAndAuth(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	port, out := startTLSServer(t, certFile, keyFile, "s3cret", "starttls")
	settings := SMTPSettings{
		Host: "127.0.0.1", Port: port, From: "orders@shop.example", TLS: SMTPTLSStartTLS,
		Username: "mailer", Password: "s3cret", TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}
	cfg := map[string]any{"notification": "order-emails:confirmation", "recipients": "carol@shop.example",
		"subject": map[string]any{"orderNumber": "T-1"}}

	_, err := New(allowLoopback, WithNotifications(Notifications{SMTP: settings, Templates: orderTemplates})).
		NotifyEmail(context.Background(), request(run.TypeNotifyEmail, cfg))
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(out, "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.Contains(t, string(raw), "X-Test-Login: mailer")
	require.Contains(t, string(raw), "Subject: Order Confirmation #T-1")

	t.Run("greylisted recipient is retryable", func(t *testing.T) {
		busy := map[string]any{"notification": "order-emails:confirmation", "recipients": "busy@shop.example"}
		_, err := New(allowLoopback, WithNotifications(Notifications{SMTP: settings, Templates: orderTemplates})).
			NotifyEmail(context.Background(), request(run.TypeNotifyEmail, busy))
		require.Contains(t, appError(t, err, errtype.SMTPTransient, true).Message(), "451")
	})
	t.Run("wrong password is permanent", func(t *testing.T) {
		s := settings
		s.Password = "wrong"
		_, err := New(allowLoopback, WithNotifications(Notifications{SMTP: s, Templates: orderTemplates})).
			NotifyEmail(context.Background(), request(run.TypeNotifyEmail, cfg))
		appError(t, err, errtype.SMTPRejected, false)
	})
	t.Run("untrusted certificate is permanent", func(t *testing.T) {
		s := settings
		s.TLSConfig = nil // system roots do not know the test CA
		_, err := New(allowLoopback, WithNotifications(Notifications{SMTP: s, Templates: orderTemplates})).
			NotifyEmail(context.Background(), request(run.TypeNotifyEmail, cfg))
		appError(t, err, errtype.InvalidConfig, false)
	})
	t.Run("no STARTTLS means no plaintext AUTH", func(t *testing.T) {
		s := settings
		s.TLS = SMTPTLSNone
		s.Host = "127.0.0.1"
		_, err := New(allowLoopback, WithNotifications(Notifications{SMTP: s, Templates: orderTemplates})).
			NotifyEmail(context.Background(), request(run.TypeNotifyEmail, cfg))
		// The server refuses AUTH before STARTTLS (530): permanent.
		appError(t, err, errtype.SMTPRejected, false)
	})
}

func TestNotifyEmailStartTLSNotOfferedIsPermanent(t *testing.T) {
	s := smtpServer(t) // the shared server has no STARTTLS
	s.TLS = SMTPTLSStartTLS
	_, err := New(allowLoopback, WithNotifications(Notifications{SMTP: s, Templates: orderTemplates})).
		NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{
			"notification": "order-emails:confirmation", "recipients": uniqueAddr(t, "dave"),
		}))
	require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), "STARTTLS")
}

func TestNotifySMSAndPushPostToProviders(t *testing.T) {
	sms := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sid":"SM1"}`))
	})
	push := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	a := New(allowLoopback, WithNotifications(Notifications{
		Templates: orderTemplates,
		SMS:       Endpoint{URL: sms.URL + "/send", Headers: map[string]string{"X-Account": "acme"}, Auth: IntegrationAuth{Type: AuthBasic, Username: "u", Password: "p"}},
		Push:      Endpoint{URL: push.URL, Auth: IntegrationAuth{Type: AuthAPIKey, Header: "X-Push-Key", Key: "k1"}},
	}))

	out, err := a.NotifySMS(context.Background(), request(run.TypeNotifySMS, map[string]any{
		"notification": "sms:verification-code", "recipients": []any{"+15550001"},
		"body": map[string]any{"code": 123456},
	}))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"sid": "SM1"}, out.(HTTPOutput).Body)
	got := onlyRequest(t, sms)
	require.Equal(t, "/send", got.Path)
	require.Equal(t, map[string]string{"X-Account": "acme", "Authorization": "Basic dTpw", "Idempotency-Key": "triggerd/t/ev-1/a"},
		headerValues(got.Header, "X-Account", "Authorization", "Idempotency-Key"))
	require.JSONEq(t, `{"notification":"sms:verification-code","recipients":["+15550001"],"body":"Your code is 123456"}`, got.Body)

	_, err = a.NotifyPush(context.Background(), request(run.TypeNotifyPush, map[string]any{
		"notification": "push:new-message", "device_tokens": []any{"dev-1", "dev-2"},
		"title": map[string]any{"sender": "Ann"}, "body": map[string]any{"preview": "hi!"},
		"data": map[string]any{"messageId": "m1"},
	}))
	require.NoError(t, err)
	got = onlyRequest(t, push)
	require.Equal(t, "k1", got.Header.Get("X-Push-Key"))
	require.JSONEq(t, `{"notification":"push:new-message","device_tokens":["dev-1","dev-2"],"title":"Message from Ann","body":"hi!","data":{"messageId":"m1"}}`, got.Body)
}

func TestNotifyProviderErrorsAreClassified(t *testing.T) {
	status := http.StatusServiceUnavailable
	sms := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	a := New(allowLoopback, WithNotifications(Notifications{Templates: orderTemplates, SMS: Endpoint{URL: sms.URL}}))
	cfg := map[string]any{"notification": "sms:verification-code", "recipients": "+1555"}
	_, err := a.NotifySMS(context.Background(), request(run.TypeNotifySMS, cfg))
	appError(t, err, errtype.HTTP5xx, true)
	status = http.StatusBadRequest
	_, err = a.NotifySMS(context.Background(), request(run.TypeNotifySMS, cfg))
	appError(t, err, errtype.HTTP4xx, false)

	_, err = a.NotifyPush(context.Background(), request(run.TypeNotifyPush, map[string]any{"notification": "push:new-message", "device_tokens": "d"}))
	require.Contains(t, appError(t, err, errtype.NotConfigured, false).Message(), "notifications.push")
	_, err = a.NotifySMS(context.Background(), request(run.TypeNotifySMS, map[string]any{"notification": "sms:verification-code"}))
	appError(t, err, errtype.InvalidConfig, false)
}

func TestNotifyCallbackPostsBodyAndHeaders(t *testing.T) {
	hook := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	a := New(allowLoopback, WithNotifications(Notifications{Callbacks: map[string]Endpoint{
		"webhooks": {URL: hook.URL + "/orders", Headers: map[string]string{"X-Source": "triggerd"}, Auth: IntegrationAuth{Type: AuthBearer, Token: "tok"}},
	}}))
	out, err := a.NotifyCallback(context.Background(), request(run.TypeNotifyCallback, map[string]any{
		"notification": "webhooks:order-created",
		"callback": map[string]any{
			"body":    map[string]any{"orderId": 7, "total": "9.99"},
			"headers": map[string]any{"X-Order-Id": "7"},
		},
	}))
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, out.(HTTPOutput).Status)
	got := onlyRequest(t, hook)
	require.Equal(t, "/orders", got.Path)
	require.Equal(t, map[string]string{"X-Order-Id": "7", "X-Source": "triggerd", "Authorization": "Bearer tok"},
		headerValues(got.Header, "X-Order-Id", "X-Source", "Authorization"))
	require.JSONEq(t, `{"orderId":7,"total":"9.99"}`, got.Body)

	_, err = a.NotifyCallback(context.Background(), request(run.TypeNotifyCallback, map[string]any{"notification": "hooks:x"}))
	require.Contains(t, appError(t, err, errtype.NotConfigured, false).Message(), "notifications.callbacks.hooks")
}

// onlyRequest asserts tg received exactly one request and returns it.
func onlyRequest(t *testing.T, tg *target) seen {
	t.Helper()
	reqs := tg.requests()
	require.Len(t, reqs, 1)
	return reqs[0]
}

// headerValues returns the named headers' values.
func headerValues(h http.Header, names ...string) map[string]string {
	out := map[string]string{}
	for _, n := range names {
		out[n] = h.Get(n)
	}
	return out
}

func TestNotifyEmailImplicitTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	port, out := startTLSServer(t, certFile, keyFile, "pw", "tls")
	a := New(allowLoopback, WithNotifications(Notifications{
		SMTP: SMTPSettings{
			Host: "127.0.0.1", Port: port, From: "Café Shop <orders@shop.example>", TLS: SMTPTLSImplicit,
			Username: "mailer", Password: "pw", TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
		Templates: map[string]map[string]MessageTemplate{"news": {"html": {
			Subject: "Grüße, {{name}}", Body: "<p>Hallo {{name}} – schön, dass du da bist.</p>", HTML: true,
		}}},
	}))
	out1, err := a.NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{
		"notification": "news:html", "recipients": "Erin <erin@shop.example>", "subject": map[string]any{"name": "Jürgen"},
		"variables": map[string]any{"name": "Jürgen"},
	}))
	require.NoError(t, err)
	require.Equal(t, []string{"erin@shop.example"}, out1.(EmailOutput).Recipients)
	files, err := filepath.Glob(filepath.Join(out, "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Grüße, Jürgen", subject)
	require.Equal(t, "text/html; charset=utf-8", msg.Header.Get("Content-Type"))
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	require.NoError(t, err)
	require.Equal(t, "<p>Hallo Jürgen – schön, dass du da bist.</p>", strings.TrimRight(string(body), "\r\n"))
	require.Equal(t, "mailer", msg.Header.Get("X-Test-Login"))
}

func TestNotifyEmailMalformedRecipientIsPermanent(t *testing.T) {
	a := New(allowLoopback, WithNotifications(Notifications{SMTP: SMTPSettings{Host: "127.0.0.1", Port: 1, From: "a@b.example"}, Templates: orderTemplates}))
	for _, r := range []string{"not an address", "x@y.example\r\nBcc: victim@z.example"} {
		_, err := a.NotifyEmail(context.Background(), request(run.TypeNotifyEmail, map[string]any{
			"notification": "order-emails:confirmation", "recipients": []any{r},
		}))
		require.Contains(t, appError(t, err, errtype.InvalidConfig, false).Message(), "recipients[0]")
	}
}
