package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/spf13/cobra"
)

// tlsKind: netprobe probe tls.
func tlsKind() probeKind {
	var tlsf struct {
		sni, issuer, fingerprint, caFile string
	}
	exactlyOne := cobra.ExactArgs(1)
	return probeKind{
		use: "tls HOST:PORT", short: "TLS handshake: version, certificate, expiry, inspecting proxy",
		long: `Complete a TLS handshake and report the version, the certificate's subject, issuer,
expiry and SHA-256 fingerprint, and whether it verifies. With --expect-issuer or
--expect-fingerprint a different certificate is flagged as an inspecting proxy, which
breaks ASR's certificate-pinned channels.`,
		example: `  netprobe probe tls cs01.contoso.local:443
  netprobe probe tls 10.10.0.4:443 --sni cs01.contoso.local --expect-issuer "Contoso Issuing CA"`,
		args: exactlyOne, defaultTimeout: 3 * time.Second,
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&tlsf.sni, "sni", "", "server name to send and verify (default: the host of the target)")
			c.Flags().StringVar(&tlsf.issuer, "expect-issuer", "", "the issuer must contain this text")
			c.Flags().StringVar(&tlsf.fingerprint, "expect-fingerprint", "", "the leaf certificate's SHA-256 must be this (hex)")
			c.Flags().StringVar(&tlsf.caFile, "ca-file", "", "PEM bundle to verify against instead of the system's roots")
		},
		run: func(ctx context.Context, target string) (result.Result, error) {
			r := result.Result{ID: "probe/tls/" + target, Check: result.CheckTLS, Target: target, Proto: "tcp"}
			req := probes.TLSRequest{Address: target, ServerName: tlsf.sni, ExpectIssuer: tlsf.issuer, ExpectFingerprint: tlsf.fingerprint}
			if tlsf.caFile != "" {
				b, err := os.ReadFile(tlsf.caFile)
				if err != nil {
					return r, fmt.Errorf("%w: --ca-file: %v", probes.ErrInvalid, err)
				}
				req.RootCAs = b
			}
			tr, err := probes.TLS(ctx, nil, req)
			if err != nil {
				return r, err
			}
			r.Status, r.Message = result.Pass, tr.Detail
			r.Metrics = map[string]any{"rtt_ms": ms(tr.RTT), "verified": tr.Verified, "intercepted": tr.Intercepted}
			if tr.HandshakeError != "" {
				r.Metrics["handshake_error"] = tr.HandshakeError
			} else {
				r.Metrics["tls_version"], r.Metrics["cert_subject"], r.Metrics["cert_issuer"] = tr.Version, tr.Subject, tr.Issuer
				r.Metrics["cert_expires"], r.Metrics["cert_sha256"] = tr.NotAfter.Format(time.RFC3339), tr.Fingerprint
			}
			return r, nil
		},
	}
}
