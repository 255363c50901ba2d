package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Dialer makes TCP connections the policy allows. It checks each address
// a host name resolves to just before connecting to it (net.Dialer's
// ControlContext), so what is checked is what is connected to.
type Dialer struct {
	policy *Policy
	net    net.Dialer
}

// hostKey carries the host name being dialed from DialContext to the
// control hook, which only sees the resolved address.
type hostKey struct{}

// Dialer returns a dialer enforcing p, with net/http's default timeouts.
func (p *Policy) Dialer() *Dialer {
	d := &Dialer{policy: p, net: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
	d.net.ControlContext = d.control
	return d
}

// DialContext connects to address ("host:port") if the policy allows the
// address it resolves to; a refusal is a *DeniedError (inside a
// *net.OpError).
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	return d.net.DialContext(context.WithValue(ctx, hostKey{}, host), network, address)
}

func (d *Dialer) control(ctx context.Context, _, address string, _ syscall.RawConn) error {
	host, _ := ctx.Value(hostKey{}).(string)
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not an IP socket address: nothing this policy can vouch for.
		return &DeniedError{Host: host, Policy: d.policy.name, Rule: "unparsable address " + address}
	}
	return d.policy.Check(host, ap.Addr())
}

// Transport returns an HTTP transport whose connections go through the
// policy's Dialer, with net/http's default settings otherwise. It uses no
// proxy: a proxy would be the only address dialed, and the policy could
// not see the targets behind it.
func (p *Policy) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.Dialer().DialContext
	return t
}
