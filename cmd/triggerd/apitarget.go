package main

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/triggerd/triggerd/api"
	"github.com/triggerd/triggerd/config"
	"github.com/triggerd/triggerd/gate/gateclient"
)

// defaultServer is the API the CLI talks to without --server or
// TRIGGERD_SERVER: the default api.listen.
const defaultServer = "http://127.0.0.1:8080"

// Environment variables of the CLI's API commands.
const (
	// serverEnv overrides the default of --server.
	serverEnv = "TRIGGERD_SERVER"
	// tokenEnv is the API token when --token is not given.
	tokenEnv = "TRIGGERD_TOKEN"
)

// devTokenFile is where `triggerd dev` writes the API token it generated,
// in its data dir; the CLI reads it from there for a loopback server when
// neither --token nor TRIGGERD_TOKEN says otherwise.
const devTokenFile = "api-token"

func (a *app) env(name string) string {
	for _, kv := range a.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// apiTarget is the API a command talks to and the token it sends.
type apiTarget struct {
	server string
	token  string
}

// serverFlag adds --server and --token to cmd and returns where their
// values land.
func (a *app) serverFlag(cmd *cobra.Command, persistent bool) *apiTarget {
	def := a.env(serverEnv)
	if def == "" {
		def = defaultServer
	}
	t := &apiTarget{}
	f := cmd.Flags()
	if persistent {
		f = cmd.PersistentFlags()
	}
	f.StringVar(&t.server, "server", def, "triggerd API base URL (env "+serverEnv+")")
	f.StringVar(&t.token, "token", "", "API token (env "+tokenEnv+"; for a local server, default: the token triggerd dev wrote to "+
		filepath.Join(config.DefaultDataDir, devTokenFile)+")")
	return t
}

// apiToken is the token to send to t.server: --token, else TRIGGERD_TOKEN,
// else, only for a server on this host, the one `triggerd dev` wrote to
// its data dir (TRIGGERD_DATA_DIR, default .triggerd). A dev token is
// never sent anywhere else.
func (a *app) apiToken(t *apiTarget) string {
	if t.token != "" {
		return t.token
	}
	if tok := a.env(tokenEnv); tok != "" {
		return tok
	}
	u, err := url.Parse(t.server)
	if err != nil || !config.Loopback(net.JoinHostPort(u.Hostname(), "1")) {
		return ""
	}
	dir := a.env(config.EnvName("dataDir"))
	if dir == "" {
		dir = config.DefaultDataDir
	}
	b, err := os.ReadFile(filepath.Join(dir, devTokenFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// client returns an API client of t. Changes are recorded under the
// token's name.
func (a *app) client(t *apiTarget) *api.Client {
	return api.NewClient(t.server, api.WithToken(a.apiToken(t)))
}

// gateClient returns a gate client of t.
func (a *app) gateClient(t *apiTarget) *gateclient.Client {
	return gateclient.New(t.server, gateclient.WithToken(a.apiToken(t)))
}
