package activities

import (
	"errors"
	"net/http"
	"sync"

	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run/errtype"
)

// WithEgress sets the policy every outbound call of the actions goes
// through: http (and its redirects), action.execute, agent.run, the
// notification providers, SMTP and OAuth2 token requests. Without it the
// actions use egress.Default(), which refuses loopback, link-local,
// private and the other internal ranges. An integration, agent or
// provider with a policy of its own (their Egress field) uses that one.
func WithEgress(p *egress.Policy) Option { return func(a *Activities) { a.egress = p } }

// httpClients are the two clients of one egress policy: one that returns
// a redirect as the response and one that follows redirects (each hop
// dialed through the same policy).
type httpClients struct {
	noFollow, follow *http.Client
}

// clientCache holds the clients by policy, built on first use: one
// transport (and connection pool) per policy, so a connection opened under
// an integration's wider policy is never reused by a call under a
// narrower one.
type clientCache struct {
	mu      sync.Mutex
	clients map[*egress.Policy]httpClients
}

func (c *clientCache) get(p *egress.Policy) httpClients {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.clients[p]; ok {
		return hc
	}
	if c.clients == nil {
		c.clients = map[*egress.Policy]httpClients{}
	}
	t := p.Transport()
	hc := httpClients{
		// A webhook that redirects is misconfigured; following it would
		// also resend the body (and its idempotency key) to a host nobody
		// named.
		noFollow: &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		follow: &http.Client{Transport: t, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return errTooManyRedirects
			}
			return nil
		}},
	}
	c.clients[p] = hc
	return hc
}

// policy is p, or the actions' policy when p is nil.
func (a *Activities) policy(p *egress.Policy) *egress.Policy {
	if p != nil {
		return p
	}
	return a.egress
}

// egressDenied returns the non-retryable EGRESS_DENIED error for err when
// the egress policy refused its connection: no retry can reach an address
// the process may not connect to.
func egressDenied(err error) (error, bool) {
	var d *egress.DeniedError
	if !errors.As(err, &d) {
		return nil, false
	}
	return permanent(errtype.EgressDenied, err), true
}
