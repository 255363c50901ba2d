package egress

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// wellKnown are host names whose address is known without asking DNS:
// RFC 6761's localhost, and the names clouds give their metadata endpoint.
var wellKnown = map[string]netip.Addr{
	"localhost":                  netip.MustParseAddr("127.0.0.1"),
	"metadata.google.internal":   netip.MustParseAddr("169.254.169.254"),
	"instance-data.ec2.internal": netip.MustParseAddr("169.254.169.254"),
}

// CheckHost reports, without resolving anything, whether the policy would
// refuse every connection to host: an IP literal, a host name a deny rule
// matches, or a name whose address is fixed (localhost, cloud metadata
// names). Any other name is decided at connect time, so it passes here.
// It is the load-time check behind validate's and the API's warnings; it
// counts nothing in the metrics.
func (p *Policy) CheckHost(host string) error {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if ip, err := netip.ParseAddr(h); err == nil {
		return nilIfNone(p.decide("", normalizeAddr(ip)))
	}
	ip, known := wellKnown[h]
	if !known && strings.HasSuffix(h, ".localhost") {
		ip, known = wellKnown["localhost"], true
	}
	if known {
		return nilIfNone(p.decide(h, ip))
	}
	if p.open || p.allowed(h, netip.Addr{}) {
		return nil
	}
	if r, ok := matchAny(p.deny, h, netip.Addr{}); ok {
		return &DeniedError{Host: h, Policy: p.name, Rule: p.name + ".deny " + r.text}
	}
	return nil
}

// CheckURL is CheckHost on the host of an http(s) URL as written in a
// definition or the configuration. The URL may hold {{…}} templates: it is
// checked when the text before the first one holds the whole host
// ("https://10.0.0.1/{{record.path}}"), and passes otherwise (the host
// comes from the record, and is decided at connect time).
func (p *Policy) CheckURL(raw string) error {
	prefix, _, templated := strings.Cut(raw, "{{")
	rest, ok := cutScheme(prefix)
	if !ok {
		return nil
	}
	if templated && !strings.ContainsAny(rest, "/?#") {
		return nil // the host may go on in the template
	}
	u, err := url.Parse(prefix)
	if err != nil || u.Host == "" {
		return nil
	}
	return p.CheckHost(u.Hostname())
}

func cutScheme(s string) (string, bool) {
	lower := strings.ToLower(s)
	for _, scheme := range []string{"http://", "https://"} {
		if strings.HasPrefix(lower, scheme) {
			return s[len(scheme):], true
		}
	}
	return "", false
}

func nilIfNone(d *DeniedError) error {
	if d == nil {
		return nil
	}
	return d
}

// String describes the policy's rules, for logs.
func (p *Policy) String() string {
	if p.open {
		return p.name + ": everything allowed"
	}
	texts := func(rs []rule) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.text
		}
		return out
	}
	return fmt.Sprintf("%s: allow %v, deny %v, then the built-in ranges", p.name, texts(p.allow), texts(p.deny))
}
