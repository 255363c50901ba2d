package egress

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func mustPolicy(t *testing.T, allow, deny []string) *Policy {
	t.Helper()
	p, err := New(allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultRefusesInternalAddresses(t *testing.T) {
	p := Default()
	for addr, rule := range map[string]string{
		"127.0.0.1":         "default: loopback 127.0.0.0/8",
		"127.8.9.10":        "default: loopback 127.0.0.0/8",
		"::1":               "default: loopback ::1/128",
		"::ffff:127.0.0.1":  "default: loopback 127.0.0.0/8",
		"0.0.0.0":           "default: unspecified 0.0.0.0/8",
		"::":                "default: unspecified ::/128",
		"169.254.169.254":   "default: cloud metadata endpoint 169.254.169.254/32",
		"fd00:ec2::254":     "default: cloud metadata endpoint fd00:ec2::254/128",
		"169.254.1.1":       "default: link-local 169.254.0.0/16",
		"fe80::1":           "default: link-local fe80::/10",
		"10.1.2.3":          "default: private 10.0.0.0/8",
		"172.31.255.255":    "default: private 172.16.0.0/12",
		"192.168.0.1":       "default: private 192.168.0.0/16",
		"fd12:3456::1":      "default: private (unique local) fc00::/7",
		"100.64.0.1":        "default: shared address space (CGNAT) 100.64.0.0/10",
		"224.0.0.1":         "default: multicast 224.0.0.0/4",
		"ff02::1":           "default: multicast ff00::/8",
		"255.255.255.255":   "default: reserved 240.0.0.0/4",
		"64:ff9b::7f00:1":   "default: loopback 127.0.0.0/8",                       // NAT64 of 127.0.0.1
		"2002:a9fe:a9fe::1": "default: cloud metadata endpoint 169.254.169.254/32", // 6to4
	} {
		err := p.Check("", netip.MustParseAddr(addr))
		var d *DeniedError
		if !errors.As(err, &d) {
			t.Errorf("%s: allowed, want refused by %s", addr, rule)
			continue
		}
		if d.Rule != rule {
			t.Errorf("%s: rule %q, want %q", addr, d.Rule, rule)
		}
	}
	for _, addr := range []string{"93.184.215.14", "8.8.8.8", "2606:4700::1111", "172.32.0.1", "100.128.0.1", "64:ff9b::808:808"} {
		if err := p.Check("example.com", netip.MustParseAddr(addr)); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
}

func TestRulesOrder(t *testing.T) {
	p := mustPolicy(t,
		[]string{"127.0.0.1", "10.20.0.0/16", "hooks.internal.example", "*.corp.example"},
		[]string{"203.0.113.0/24", "*.evil.example", "10.20.30.0/24"})
	cases := []struct {
		host, addr string
		rule       string // "" means allowed
	}{
		{"", "127.0.0.1", ""},
		{"", "127.0.0.2", "default: loopback 127.0.0.0/8"},
		{"", "10.20.30.40", ""}, // allow wins over deny
		{"", "10.21.0.1", "default: private 10.0.0.0/8"},
		{"hooks.internal.example", "192.168.1.1", ""},
		{"HOOKS.internal.example.", "192.168.1.1", ""},
		{"a.b.corp.example", "10.9.9.9", ""},
		{"corp.example", "10.9.9.9", "default: private 10.0.0.0/8"},
		{"", "203.0.113.9", "egress.deny 203.0.113.0/24"},
		{"x.evil.example", "93.184.215.14", "egress.deny *.evil.example"},
		{"good.example", "93.184.215.14", ""},
	}
	for _, c := range cases {
		err := p.Check(c.host, netip.MustParseAddr(c.addr))
		var d *DeniedError
		switch {
		case c.rule == "" && err != nil:
			t.Errorf("%s %s: %v", c.host, c.addr, err)
		case c.rule != "" && !errors.As(err, &d):
			t.Errorf("%s %s: allowed, want %s", c.host, c.addr, c.rule)
		case c.rule != "" && d.Rule != c.rule:
			t.Errorf("%s %s: rule %q, want %q", c.host, c.addr, d.Rule, c.rule)
		}
	}
}

func TestStrictAllowList(t *testing.T) {
	p := mustPolicy(t, []string{"api.example.com"}, []string{"0.0.0.0/0", "::/0"})
	if err := p.Check("api.example.com", netip.MustParseAddr("93.184.215.14")); err != nil {
		t.Fatal(err)
	}
	if err := p.Check("other.example.com", netip.MustParseAddr("93.184.215.14")); err == nil {
		t.Fatal("a host off the allow-list was allowed")
	}
}

func TestBadRulesAreAllReported(t *testing.T) {
	_, err := New([]string{"10.0.0.0/33", "ok.example", ""}, []string{"exa mple", "*."})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`allow[0]: "10.0.0.0/33"`, `allow[2]: "" is empty`, `deny[0]: "exa mple"`, `deny[1]: "*."`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	var re *RuleError
	if !errors.As(err, &re) {
		t.Errorf("not a *RuleError: %T", err)
	}
}

func TestExtendKeepsTheBaseRules(t *testing.T) {
	base := mustPolicy(t, []string{"192.168.1.0/24"}, []string{"*.evil.example"})
	crm, err := base.Extend("integrations.crm.egress", []string{"10.0.0.5"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := crm.Check("", netip.MustParseAddr("10.0.0.5")); err != nil {
		t.Error(err)
	}
	if err := crm.Check("", netip.MustParseAddr("192.168.1.9")); err != nil {
		t.Error(err)
	}
	if err := base.Check("", netip.MustParseAddr("10.0.0.5")); err == nil {
		t.Error("the integration's rule leaked into the process policy")
	}
	err = crm.Check("", netip.MustParseAddr("10.0.0.6"))
	if err == nil || !strings.Contains(err.Error(), "integrations.crm.egress.allow") {
		t.Errorf("refusal should name the integration's policy: %v", err)
	}
	if same, _ := base.Extend("x", nil, nil); same != base {
		t.Error("an extension without rules should be the base policy")
	}
}

func TestCheckURL(t *testing.T) {
	p := mustPolicy(t, []string{"127.0.0.2"}, []string{"*.evil.example"})
	for url, refused := range map[string]bool{
		"http://127.0.0.1:8080/hook":                          true,
		"http://[::1]/x":                                      true,
		"https://localhost/x":                                 true,
		"https://api.localhost/x":                             true,
		"http://metadata.google.internal/computeMetadata/v1/": true,
		"http://169.254.169.254/latest/meta-data/":            true,
		"https://x.evil.example/":                             true,
		"http://127.0.0.1/{{record.path}}":                    true,
		"http://127.0.0.2/hook":                               false,
		"https://api.example.com/hook":                        false,
		"http://127.0.0.{{record.n}}/":                        false, // decided at connect time
		"{{record.url}}":                                      false,
		"https://{{record.host}}/":                            false,
		"ftp://127.0.0.1/":                                    false, // not an http URL: validation's business
	} {
		err := p.CheckURL(url)
		if refused != (err != nil) {
			t.Errorf("%s: refused=%v, err=%v", url, refused, err)
		}
	}
}

func TestAllowAll(t *testing.T) {
	if err := AllowAll().Check("", netip.MustParseAddr("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
}

// The policy is enforced where the connection is made: a name resolving
// to loopback, and a redirect from an allowed server to a refused one, are
// both refused by the dialer, and each refusal is counted.
func TestTransportRefusesAtConnectTime(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "secret") }))
	defer target.Close()
	// The allowed server listens on 127.0.0.2, the refused one on 127.0.0.1.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 not available: %v", err)
	}
	redirector := httptest.NewUnstartedServer(http.RedirectHandler(target.URL+"/x", http.StatusFound))
	redirector.Listener.Close()
	redirector.Listener = ln
	redirector.Start()
	defer redirector.Close()

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	p, err := New([]string{"127.0.0.2"}, nil, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: p.Transport()}

	_, err = c.Get(target.URL)
	var d *DeniedError
	if !errors.As(err, &d) || d.Rule != "default: loopback 127.0.0.0/8" {
		t.Fatalf("direct: %v", err)
	}
	// localhost resolves (through the system resolver) to loopback.
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	if _, err = c.Get("http://localhost:" + port); !errors.As(err, &d) {
		t.Fatalf("by name: %v", err)
	}
	if d.Host != "localhost" || !strings.Contains(d.Error(), "localhost (") {
		t.Errorf("refusal should name the host: %v", d)
	}
	_, err = c.Get(redirector.URL)
	if !errors.As(err, &d) || d.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("redirect: %v", err)
	}
	if got := testutil.ToFloat64(m.refused.WithLabelValues("egress", "default: loopback 127.0.0.0/8")); got < 3 {
		t.Errorf("refusals counted: %v, want >= 3", got)
	}

	// Allowed once the address is on the allow-list.
	open, _ := New([]string{"127.0.0.0/8"}, nil)
	resp, err := (&http.Client{Transport: open.Transport()}).Get(redirector.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "secret" {
		t.Fatalf("body %q", body)
	}
}

func TestDialerRefusesBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan string, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c.RemoteAddr().String()
			c.Close()
		}
	}()
	_, err = Default().Dialer().DialContext(context.Background(), "tcp", ln.Addr().String())
	var d *DeniedError
	if !errors.As(err, &d) {
		t.Fatalf("dial: %v", err)
	}
	// Positive evidence that the refused dial never connected: the first
	// connection the listener accepts is the permitted one made after it.
	conn, err := AllowAll().Dialer().DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if first := <-accepted; first != conn.LocalAddr().String() {
		t.Fatalf("first accepted connection came from %s, not the permitted dial %s", first, conn.LocalAddr())
	}
}
