package main

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/lab/labnet"
)

func init() { register(newServeCmd) }

// newServeCmd runs one of the lab's internet stand-ins (internal/lab/labnet) in the foreground:
// the modernized lab starts it inside a namespace and stops it with SIGTERM. Hidden: it is the
// lab's helper, not something to run by hand, and it listens where it is told.
func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "serve dns|https|proxy --listen ADDR",
		Short:  "Run one of the lab's internet services in the foreground (used by the modernized lab)",
		Hidden: true,
	}
	var listen, rules, caCert, caKey string
	dnsCmd := &cobra.Command{
		Use:   "dns --listen ADDR --rules FILE",
		Short: "DNS over UDP and TCP from a rules file, read again when it changes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := &labnet.DNSServer{RulesFile: rules}
			return served(s.Serve(cmd.Context(), listen, func() { ready(cmd.OutOrStdout(), listen) }))
		},
	}
	dnsCmd.Flags().StringVar(&rules, "rules", "", "rules file (see internal/lab/labnet/dns.go)")
	httpsCmd := &cobra.Command{
		Use:   "https --listen ADDR --ca-cert FILE --ca-key FILE",
		Short: "HTTPS for any name, with certificates the lab CA issues for the name asked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := labnet.LoadCA(caCert, caKey)
			if err != nil {
				return served(err)
			}
			return listenAndServe(cmd.Context(), cmd.OutOrStdout(), listen, (&labnet.Responder{CA: ca}).Serve)
		},
	}
	httpsCmd.Flags().StringVar(&caCert, "ca-cert", "", "the lab CA's certificate (PEM)")
	httpsCmd.Flags().StringVar(&caKey, "ca-key", "", "the lab CA's key (PEM)")
	proxyCmd := &cobra.Command{
		Use:   "proxy --listen ADDR",
		Short: "An unauthenticated HTTP CONNECT proxy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listenAndServe(cmd.Context(), cmd.OutOrStdout(), listen, (&labnet.Proxy{}).Serve)
		},
	}
	for _, c := range []*cobra.Command{dnsCmd, httpsCmd, proxyCmd} {
		c.Flags().StringVar(&listen, "listen", "", "address to listen on, host:port")
		_ = c.MarkFlagRequired("listen")
		cmd.AddCommand(c)
	}
	_ = dnsCmd.MarkFlagRequired("rules")
	_ = httpsCmd.MarkFlagRequired("ca-cert")
	_ = httpsCmd.MarkFlagRequired("ca-key")
	return cmd
}

// listenAndServe listens on addr, says it is ready, and serves until ctx ends (SIGTERM).
func listenAndServe(ctx context.Context, stdout io.Writer, addr string, serve func(context.Context, net.Listener) error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return served(err)
	}
	ready(stdout, ln.Addr().String())
	return served(serve(ctx, ln))
}

// ready is the line the lab waits for before it uses the service.
func ready(stdout io.Writer, addr string) { fmt.Fprintf(stdout, "ready %s\n", addr) }

// served maps a service's end to an exit: stopped by its signal is a normal end.
func served(err error) error {
	if err != nil {
		return exitWith(exitFailed, err)
	}
	return nil
}
