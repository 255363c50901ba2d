package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/egress"
	"github.com/triggerd/triggerd/run"
	"github.com/triggerd/triggerd/trigger"
)

// egressPolicies are the process's egress policy (egress:) and the
// extensions of it that named integrations, agents and providers
// configure, by the path of their egress key ("integrations.crm.egress").
type egressPolicies struct {
	process *egress.Policy
	named   map[string]*egress.Policy
}

// newEgress builds the policies of cfg, counting refusals on reg (nil:
// not counted). Every malformed rule is reported with its path.
func newEgress(cfg *config.Config, reg prometheus.Registerer) (egressPolicies, error) {
	var opts []egress.Option
	if reg != nil {
		opts = append(opts, egress.WithMetrics(egress.NewMetrics(reg)))
	}
	var errs []error
	process, err := egress.New(cfg.Egress.Allow, cfg.Egress.Deny, opts...)
	if err != nil {
		errs = append(errs, ruleErrors("egress", err)...)
		process = egress.Default(opts...)
	}
	eg := egressPolicies{process: process, named: map[string]*egress.Policy{}}
	named := cfg.EgressPolicies()
	for _, path := range slices.Sorted(maps.Keys(named)) {
		rules := named[path]
		p, err := process.Extend(path, rules.Allow, rules.Deny)
		if err != nil {
			errs = append(errs, ruleErrors(path, err)...)
			continue
		}
		eg.named[path] = p
	}
	return eg, errors.Join(errs...)
}

// ruleErrors prefixes each *egress.RuleError in err with the policy's path.
func ruleErrors(path string, err error) []error {
	var out []error
	for _, e := range unjoin(err) {
		var re *egress.RuleError
		if errors.As(e, &re) {
			out = append(out, fmt.Errorf("%s.%s: %q %s", path, re.Field, re.Rule, re.Reason))
			continue
		}
		out = append(out, fmt.Errorf("%s: %w", path, e))
	}
	return out
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// of returns the policy of the integration, agent or provider at path
// ("integrations.crm"), nil when it has none of its own (the process's
// applies).
func (e egressPolicies) of(path string) *egress.Policy { return e.named[path+".egress"] }

// policy is like of, but returns the process's policy when path has none.
func (e egressPolicies) policy(path string) *egress.Policy {
	if p := e.of(path); p != nil {
		return p
	}
	return e.process
}

// configEgressWarnings lists the endpoints of cfg (integrations, agents,
// providers, the SMTP server) that their egress policy refuses as
// written: each call to them would fail with EGRESS_DENIED.
func configEgressWarnings(cfg *config.Config, e egressPolicies) []string {
	var out []string
	check := func(path, field, raw string, isHost bool) {
		if raw == "" {
			return
		}
		p := e.policy(path)
		var err error
		if isHost {
			err = p.CheckHost(raw)
		} else {
			err = p.CheckURL(raw)
		}
		if err != nil {
			out = append(out, fmt.Sprintf("%s.%s: every call would fail: %v", path, field, err))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Integrations)) {
		in := cfg.Integrations[name]
		check("integrations."+name, "baseUrl", in.BaseURL, false)
		check("integrations."+name, "auth.tokenUrl", in.Auth.TokenURL, false)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Agents)) {
		check("agents."+name, "url", cfg.Agents[name].URL, false)
	}
	n := cfg.Notifications
	check("notifications.smtp", "host", n.SMTP.Host, true)
	providers := map[string]config.Provider{"notifications.sms": n.SMS, "notifications.push": n.Push}
	for name, p := range n.Callbacks {
		providers["notifications.callbacks."+name] = p
	}
	for _, path := range slices.Sorted(maps.Keys(providers)) {
		check(path, "url", providers[path].URL, false)
		check(path, "auth.tokenUrl", providers[path].Auth.TokenURL, false)
	}
	return out
}

// egressWarner warns about the URLs of http actions and HTTP lookups that
// the process's policy refuses as written (a literal host; a host rendered
// from the record is decided when the call is made). The API returns the
// warnings with the write, validate prints them; neither refuses the
// definition, since the policy may differ between processes.
func egressWarner(p *egress.Policy) api.Warner {
	return func(defs []trigger.Definition) []trigger.Problem {
		var out []trigger.Problem
		check := func(d trigger.Definition, field string, c map[string]any) {
			raw, _ := c["url"].(string)
			if err := p.CheckURL(raw); err != nil {
				out = append(out, trigger.Problem{File: d.File, Tag: d.Tag, Field: field + ".url",
					Reason: "every call would fail: " + err.Error()})
			}
		}
		for _, d := range defs {
			for i, a := range d.Actions {
				if a.Type == run.TypeHTTP {
					check(d, fmt.Sprintf("actions[%d].config", i), a.Config)
				}
			}
			for i, l := range d.Before.Lookups {
				if l.Kind == "http" {
					check(d, fmt.Sprintf("lookups[%d].http", i), l.Config)
				}
			}
		}
		return out
	}
}

// printEgress prints, for validate, the malformed egress rules (problems,
// counted) and the endpoints and definitions the policy would refuse
// (warnings, not counted).
func (a *app) printEgress(cfg *config.Config, set *trigger.Set) int {
	if cfg == nil {
		return 0
	}
	eg, err := newEgress(cfg, nil)
	problems := 0
	if err != nil {
		for _, e := range unjoin(err) {
			fmt.Fprintln(a.stderr, e)
			problems++
		}
	}
	warnings := configEgressWarnings(cfg, eg)
	if set != nil {
		for _, p := range egressWarner(eg.process)(set.Definitions()) {
			warnings = append(warnings, p.String())
		}
	}
	for _, w := range warnings {
		fmt.Fprintln(a.stderr, "warning: "+strings.TrimSpace(w))
	}
	return problems
}
