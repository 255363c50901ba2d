// Package egress decides which network addresses the outbound calls of
// actions and lookups may connect to: http actions (and their redirects),
// action.execute, agent.run, the notification providers (SMTP, SMS, push,
// callbacks), OAuth2 token endpoints and the gate's HTTP lookups.
//
// A Policy is checked when a connection is made, on the IP address the host
// name resolved to (Dialer, a net.Dialer ControlContext hook), so neither a
// DNS answer that changes between a check and the connect (rebinding) nor a
// redirect to another host can get around it. By default it refuses the
// addresses a server's neighbours live on (loopback, link-local and the
// cloud metadata endpoints, private and shared ranges, multicast,
// unspecified and reserved addresses); allow and deny rules, by CIDR or by
// host name pattern, adjust it per process and per named integration.
//
// A refused connection fails with a *DeniedError naming the host, the
// address and the rule; the actions turn it into the non-retryable
// EGRESS_DENIED error.
package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Policy is a set of allow and deny rules over the built-in refused ranges.
// The zero value is not usable: build one with New, Default or AllowAll. A
// Policy is immutable and safe for concurrent use.
type Policy struct {
	// name labels the policy in errors and metrics: "egress" for a
	// process's, the config path of a named integration's otherwise.
	name  string
	allow []rule
	deny  []rule
	// open skips every check (AllowAll).
	open    bool
	metrics *Metrics
}

// Option configures a Policy.
type Option func(*Policy)

// WithMetrics counts the policy's refusals (and those of the policies
// extended from it) in m.
func WithMetrics(m *Metrics) Option { return func(p *Policy) { p.metrics = m } }

// WithName names the policy in errors and metrics (default "egress").
func WithName(name string) Option { return func(p *Policy) { p.name = name } }

// New returns a policy with the built-in refused ranges and the given
// rules. Each rule is an IP address ("10.1.2.3", "::1"), a CIDR
// ("10.0.0.0/8"), a host name ("api.example.com"), a wildcard of its
// subdomains ("*.example.com") or "*" (every host name). A connection is
//
//  1. allowed if its address or its host name matches an allow rule;
//  2. else refused if it matches a deny rule;
//  3. else refused if its address is in a built-in range (see Ranges);
//  4. else allowed.
//
// So allow rules open holes in the defaults and in deny rules, and
// deny ["0.0.0.0/0", "::/0"] with a list of allowed host names makes a
// strict allow-list. Every malformed rule is reported, each as a *RuleError.
func New(allow, deny []string, opts ...Option) (*Policy, error) {
	p := &Policy{name: "egress"}
	for _, o := range opts {
		o(p)
	}
	var errs []error
	p.allow, errs = parseRules("allow", allow, errs)
	p.deny, errs = parseRules("deny", deny, errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Default is New without rules: the built-in refused ranges only.
func Default(opts ...Option) *Policy {
	p, _ := New(nil, nil, opts...) // no rules, nothing to fail
	return p
}

// AllowAll returns a policy that refuses nothing. It exists for tests that
// talk to servers on 127.0.0.1 and for programs that enforce egress
// elsewhere; a triggerd process never uses it.
func AllowAll() *Policy { return &Policy{name: "egress", open: true} }

// Extend returns a policy named name with p's rules followed by allow and
// deny: the policy of one named integration, which may reach what the
// process's policy allows plus its own allow rules.
func (p *Policy) Extend(name string, allow, deny []string) (*Policy, error) {
	if len(allow) == 0 && len(deny) == 0 {
		return p, nil
	}
	q, err := New(allow, deny)
	if err != nil {
		return nil, err
	}
	q.name, q.open, q.metrics = name, p.open, p.metrics
	q.allow = append(append([]rule(nil), p.allow...), q.allow...)
	q.deny = append(append([]rule(nil), p.deny...), q.deny...)
	return q, nil
}

// Name is the policy's name ("egress" unless WithName or Extend said).
func (p *Policy) Name() string { return p.name }

// Check decides a connection to ip made for host (the name in the URL or
// the configuration; "" when it is not known, or an IP literal). It returns
// nil or a *DeniedError. The refusal is counted when the policy has
// metrics.
func (p *Policy) Check(host string, ip netip.Addr) error {
	d := p.decide(normalizeHost(host), normalizeAddr(ip))
	if d == nil {
		return nil
	}
	if p.metrics != nil {
		p.metrics.denied(p.name, d.Rule)
	}
	return d
}

func (p *Policy) decide(host string, ip netip.Addr) *DeniedError {
	if p.open || p.allowed(host, ip) {
		return nil
	}
	if rule, ok := p.refusal(host, ip); ok {
		return &DeniedError{Host: host, Addr: ip, Policy: p.name, Rule: rule}
	}
	// An IPv6 address that carries an IPv4 one (NAT64, 6to4, the
	// deprecated IPv4-compatible form) reaches that IPv4 address through a
	// gateway: it gets the IPv4 address's verdict unless allowed itself.
	if v4, ok := embeddedIPv4(ip); ok && !p.allowed("", v4) {
		if rule, ok := p.refusal("", v4); ok {
			return &DeniedError{Host: host, Addr: ip, Embedded: v4, Policy: p.name, Rule: rule}
		}
	}
	return nil
}

// refusal names the deny rule or built-in range that refuses (host, ip).
func (p *Policy) refusal(host string, ip netip.Addr) (string, bool) {
	if r, ok := matchAny(p.deny, host, ip); ok {
		return p.name + ".deny " + r.text, true
	}
	if name, ok := builtinRange(ip); ok {
		return "default: " + name, true
	}
	return "", false
}

func (p *Policy) allowed(host string, ip netip.Addr) bool {
	_, ok := matchAny(p.allow, host, ip)
	return ok
}

// DeniedError is a connection the policy refused.
type DeniedError struct {
	// Host is the name the call asked for ("" if unknown or an IP).
	Host string
	// Addr is the address it resolved to.
	Addr netip.Addr
	// Embedded is the IPv4 address an IPv6 Addr carries (NAT64, 6to4),
	// when that is what the rule refused.
	Embedded netip.Addr
	// Policy names the policy ("egress", "integrations.crm.egress").
	Policy string
	// Rule is the rule that refused it: "default: loopback 127.0.0.0/8",
	// "egress.deny 203.0.113.0/24".
	Rule string
}

func (e *DeniedError) Error() string {
	target := e.Addr.String()
	if e.Host != "" && e.Host != target {
		target = e.Host + " (" + target + ")"
	}
	rule := e.Rule
	if e.Embedded.IsValid() {
		rule += " (embedded " + e.Embedded.String() + ")"
	}
	return fmt.Sprintf("egress denied: %s is refused by %s (allow it with %s.allow)", target, rule, e.Policy)
}

// RuleError is a malformed allow or deny rule.
type RuleError struct {
	// Field is "allow[2]" or "deny[0]", relative to the policy's config.
	Field  string
	Rule   string
	Reason string
}

func (e *RuleError) Error() string { return fmt.Sprintf("%s: %q %s", e.Field, e.Rule, e.Reason) }

// normalizeAddr unmaps an IPv4-mapped address and drops an IPv6 zone
// (fe80::1%eth0): rules name addresses, not interfaces.
func normalizeAddr(ip netip.Addr) netip.Addr { return ip.Unmap().WithZone("") }

// normalizeHost lower-cases a host name and drops IPv6 brackets and a
// trailing dot; an IP literal becomes "" (address rules decide it).
func normalizeHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	return h
}
