package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/netprobe/netprobe/internal/agent"
)

// trustFlags are how a coordinator proves itself to the agents and makes sure each agent is
// the one it means: the token, a client certificate for mutual TLS, the CA of the agents'
// certificates and the known-agents file. Every command that talks to agents takes them.
type trustFlags struct {
	tokenFile             string
	agentCA               string
	clientCert, clientKey string
	knownAgents           string
}

func addTrustFlags(fl *pflag.FlagSet, f *trustFlags) {
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the agents' pre-shared token (default $"+agent.EnvTokenFile+")")
	fl.StringVar(&f.agentCA, "agent-ca", "", "PEM CA bundle that signed the agents' --cert: each agent's certificate must verify against it for its address")
	fl.StringVar(&f.clientCert, "client-cert", "", "PEM client certificate for agents started with --client-ca (mutual TLS; with --client-key)")
	fl.StringVar(&f.clientKey, "client-key", "", "PEM private key of --client-cert")
	fl.StringVar(&f.knownAgents, "known-agents", "", "FILE recording each agent's certificate on first use; a changed certificate is an error (like ssh's known_hosts)")
}

// clientConfig builds the agent client's configuration from the flags, reporting every
// problem at once (exit 2). The token is read unless mutual TLS replaces it: a client
// certificate, and no token file given or in the environment (as the agent decides).
func (f trustFlags) clientConfig() (agent.ClientConfig, error) {
	var cfg agent.ClientConfig
	var errs []error
	if (f.clientCert == "") != (f.clientKey == "") {
		errs = append(errs, errors.New("--client-cert and --client-key go together"))
	} else if f.clientCert != "" {
		c, err := tls.LoadX509KeyPair(f.clientCert, f.clientKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("--client-cert/--client-key: %w", err))
		} else {
			cfg.Certificates = []tls.Certificate{c}
		}
	}
	if f.clientCert == "" || f.tokenFile != "" || os.Getenv(agent.EnvTokenFile) != "" {
		path, err := agent.TokenFile(f.tokenFile)
		if err == nil {
			cfg.Token, err = agent.LoadToken(path)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if f.agentCA != "" {
		pem, err := os.ReadFile(f.agentCA)
		cfg.RootCAs = x509.NewCertPool()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--agent-ca: %w", err))
		case !cfg.RootCAs.AppendCertsFromPEM(pem):
			errs = append(errs, fmt.Errorf("--agent-ca %s: no PEM certificate in it", f.agentCA))
		}
	}
	if f.knownAgents != "" {
		k, err := agent.LoadKnownAgents(f.knownAgents)
		if err != nil {
			errs = append(errs, fmt.Errorf("--known-agents: %w", err))
		}
		cfg.KnownAgents = k
	}
	if f.clientCert != "" && len(cfg.Token) == 0 && f.agentCA == "" && f.knownAgents == "" {
		errs = append(errs, errors.New("mutual TLS without a token cannot tell an agent from an impostor: give --agent-ca, or --known-agents with each agent's cert_sha256"))
	}
	if err := errors.Join(errs...); err != nil {
		return agent.ClientConfig{}, exitWith(ExitUsage, err)
	}
	return cfg, nil
}
