package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
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
			r.Metrics = result.Metrics{result.MetricRTTMS: result.Millis(tr.RTT), result.MetricVerified: tr.Verified, result.MetricIntercepted: tr.Intercepted}
			if tr.HandshakeError != "" {
				r.Metrics[result.MetricHandshakeError] = tr.HandshakeError
			} else {
				r.Metrics[result.MetricTLSVersion], r.Metrics[result.MetricCertSubject], r.Metrics[result.MetricCertIssuer] = tr.Version, tr.Subject, tr.Issuer
				r.Metrics[result.MetricCertExpires], r.Metrics[result.MetricCertSHA256] = tr.NotAfter.Format(time.RFC3339), tr.Fingerprint
			}
			return r, nil
		},
	}
}
