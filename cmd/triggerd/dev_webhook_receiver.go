package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// webhookRequest is one request the built-in receiver got.
type webhookRequest struct {
	Method, Path, IdempotencyKey string
	Body                         []byte
}

type webhookReceiver struct {
	addr string
	srv  *http.Server
}

// maxLoggedBody bounds how much of a request body the receiver logs.
const maxLoggedBody = 4 << 10

// startWebhookReceiver serves a target for the sample triggers' http
// actions on 127.0.0.1:port: it logs every request and answers 200.
func startWebhookReceiver(port int, log *slog.Logger, observe func(webhookRequest)) (*webhookReceiver, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		req := webhookRequest{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), Body: body}
		shown := body
		if len(shown) > maxLoggedBody {
			shown = shown[:maxLoggedBody]
		}
		log.Info("webhook received", "method", r.Method, "path", r.URL.RequestURI(),
			"idempotencyKey", req.IdempotencyKey, "contentType", r.Header.Get("Content-Type"), "body", string(shown))
		if observe != nil {
			observe(req)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"received":true}`)
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &webhookReceiver{addr: ln.Addr().String(), srv: srv}, nil
}

func (r *webhookReceiver) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}
