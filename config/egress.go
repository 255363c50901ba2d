package config

// Egress restricts where the outbound calls of actions and lookups may
// connect (package egress): http actions and their redirects, SMTP,
// action.execute, agent.run, SMS, push and callback providers, OAuth2
// token endpoints and the gate's HTTP lookups. By default loopback,
// link-local (the cloud metadata endpoints among them), private, shared
// (CGNAT), multicast, unspecified and reserved addresses are refused.
//
//	egress:
//	  allow: [10.20.0.0/16, hooks.internal.example.com, "*.corp.example.com"]
//	  deny: [203.0.113.0/24]
//
// Each rule is an IP address, a CIDR, a host name, "*.domain" (its
// subdomains) or "*" (every name). An allow rule wins over a deny rule and
// over the built-in ranges; a deny rule refuses what the built-in ranges
// would let through. The process's rules apply to every call; a named
// integration, agent or provider adds its own (integrations.<name>.egress,
// notifications.smtp.egress, …) for its calls only. The rules' syntax is
// checked where the policy is built (cmd), which reports each bad rule
// with its path.
type Egress struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// EgressPolicies are the egress rules of the named integrations, agents
// and providers that have some, by the path of their egress key
// ("integrations.crm.egress"), for cmd to extend the process's policy
// with.
func (c *Config) EgressPolicies() map[string]Egress {
	out := map[string]Egress{}
	add := func(path string, e Egress) {
		if len(e.Allow) > 0 || len(e.Deny) > 0 {
			out[path+".egress"] = e
		}
	}
	for name, in := range c.Integrations {
		add("integrations."+name, in.Egress)
	}
	for name, ag := range c.Agents {
		add("agents."+name, ag.Egress)
	}
	n := c.Notifications
	add("notifications.smtp", n.SMTP.Egress)
	add("notifications.sms", n.SMS.Egress)
	add("notifications.push", n.Push.Egress)
	for name, p := range n.Callbacks {
		add("notifications.callbacks."+name, p.Egress)
	}
	return out
}
