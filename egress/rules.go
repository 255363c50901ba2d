package egress

import (
	"fmt"
	"net/netip"
	"strings"
)

// rule is one parsed allow or deny entry: an address prefix, or a host
// name pattern.
type rule struct {
	text   string // as configured, quoted in refusals
	prefix netip.Prefix
	// host is an exact name, or (suffix) the ".example.com" of
	// "*.example.com"; any matches every name ("*").
	host   string
	suffix bool
	any    bool
}

// parseRules parses list, appending a *RuleError to errs for each bad
// entry.
func parseRules(field string, list []string, errs []error) ([]rule, []error) {
	out := make([]rule, 0, len(list))
	for i, s := range list {
		r, reason := parseRule(s)
		if reason != "" {
			errs = append(errs, &RuleError{Field: fmt.Sprintf("%s[%d]", field, i), Rule: s, Reason: reason})
			continue
		}
		out = append(out, r)
	}
	return out, errs
}

func parseRule(s string) (rule, string) {
	t := strings.TrimSpace(s)
	r := rule{text: t}
	switch {
	case t == "":
		return r, "is empty"
	case t == "*":
		r.any = true
		return r, ""
	case strings.Contains(t, "/"):
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return r, "is not a CIDR (want e.g. 10.0.0.0/8 or fd00::/8)"
		}
		r.prefix = unmapPrefix(p.Masked())
		return r, ""
	}
	if a, err := netip.ParseAddr(strings.Trim(t, "[]")); err == nil {
		a = normalizeAddr(a)
		r.prefix = netip.PrefixFrom(a, a.BitLen())
		return r, ""
	}
	name := strings.TrimSuffix(strings.ToLower(t), ".")
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		if !validHostName(rest) {
			return r, "is not a host name pattern (want host.example.com or *.example.com)"
		}
		r.host, r.suffix = "."+rest, true
		return r, ""
	}
	if !validHostName(name) {
		return r, "is not an IP address, a CIDR or a host name pattern (want 10.0.0.0/8, 10.1.2.3, api.example.com or *.example.com)"
	}
	r.host = name
	return r, ""
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) into
// its IPv4 form, since addresses are unmapped before they are matched.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// validHostName accepts LDH labels separated by dots (and underscores,
// which some internal names use).
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (r rule) match(host string, ip netip.Addr) bool {
	switch {
	case r.prefix.IsValid():
		return ip.IsValid() && r.prefix.Contains(ip)
	case host == "":
		return false
	case r.any:
		return true
	case r.suffix:
		return strings.HasSuffix(host, r.host)
	default:
		return host == r.host
	}
}

func matchAny(rules []rule, host string, ip netip.Addr) (rule, bool) {
	for _, r := range rules {
		if r.match(host, ip) {
			return r, true
		}
	}
	return rule{}, false
}

// Range is one built-in refused range.
type Range struct {
	Name   string
	Prefix netip.Prefix
}

// builtin lists the refused ranges, the most specific first so a refusal
// names the most telling one (the metadata endpoint rather than
// link-local). It is read-only.
var builtin = []Range{
	{"cloud metadata endpoint", netip.MustParsePrefix("169.254.169.254/32")},
	{"cloud metadata endpoint", netip.MustParsePrefix("fd00:ec2::254/128")},
	{"cloud metadata endpoint", netip.MustParsePrefix("100.100.100.200/32")},
	{"loopback", netip.MustParsePrefix("127.0.0.0/8")},
	{"loopback", netip.MustParsePrefix("::1/128")},
	{"unspecified", netip.MustParsePrefix("0.0.0.0/8")},
	{"unspecified", netip.MustParsePrefix("::/128")},
	{"link-local", netip.MustParsePrefix("169.254.0.0/16")},
	{"link-local", netip.MustParsePrefix("fe80::/10")},
	{"private", netip.MustParsePrefix("10.0.0.0/8")},
	{"private", netip.MustParsePrefix("172.16.0.0/12")},
	{"private", netip.MustParsePrefix("192.168.0.0/16")},
	{"private (unique local)", netip.MustParsePrefix("fc00::/7")},
	{"shared address space (CGNAT)", netip.MustParsePrefix("100.64.0.0/10")},
	{"IETF protocol assignments", netip.MustParsePrefix("192.0.0.0/24")},
	{"multicast", netip.MustParsePrefix("224.0.0.0/4")},
	{"multicast", netip.MustParsePrefix("ff00::/8")},
	{"reserved", netip.MustParsePrefix("240.0.0.0/4")},
	{"site-local (deprecated)", netip.MustParsePrefix("fec0::/10")},
}

// Ranges lists the built-in refused ranges, for documentation and tests.
func Ranges() []Range { return append([]Range(nil), builtin...) }

// builtinRange names the built-in range holding ip ("loopback
// 127.0.0.0/8"), if any.
func builtinRange(ip netip.Addr) (string, bool) {
	if !ip.IsValid() {
		return "invalid address", true
	}
	for _, r := range builtin {
		if r.Prefix.Contains(ip) {
			return r.Name + " " + r.Prefix.String(), true
		}
	}
	return "", false
}

// Prefixes of IPv6 addresses that embed an IPv4 one in their last (NAT64,
// IPv4-compatible) or second and third (6to4) 32 bits.
var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	compat     = netip.MustParsePrefix("::/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 returns the IPv4 address an IPv6 address routes to through
// a translator, if it has one.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), nat64Local.Contains(ip), compat.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}
