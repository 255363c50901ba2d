package egress

import (
	"errors"
	"net/netip"
	"testing"
)

// FuzzPolicy parses arbitrary rules and decides arbitrary hosts and
// addresses: a rule is accepted or refused with a *RuleError, a decision is
// nil or a *DeniedError, and an allow rule naming the address always wins.
func FuzzPolicy(f *testing.F) {
	for _, s := range [][3]string{
		{"10.0.0.0/8", "api.example.com", "10.1.2.3"},
		{"*.corp.example", "a.corp.example", "127.0.0.1"},
		{"::ffff:10.0.0.0/104", "", "10.9.9.9"},
		{"*", "localhost", "::1"},
		{"fd00:ec2::254", "metadata.google.internal", "64:ff9b::a9fe:a9fe"},
		{"[::1]", "http://[::1]:80/", "2002:7f00:1::"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, rule, host, addr string) {
		p, err := New([]string{rule}, []string{rule})
		if err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("rule %q: %T %v", rule, err, err)
			}
			p = Default()
		}
		check := func(err error) {
			var d *DeniedError
			if err != nil && !errors.As(err, &d) {
				t.Fatalf("%T %v", err, err)
			}
		}
		check(p.CheckHost(host))
		check(p.CheckURL(host))
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		check(p.Check(host, ip))
		if allow, err := New([]string{ip.String()}, []string{"0.0.0.0/0", "::/0", "*"}); err == nil {
			if err := allow.Check(host, ip); err != nil {
				t.Fatalf("%s is allowed explicitly but refused: %v", ip, err)
			}
		}
	})
}
