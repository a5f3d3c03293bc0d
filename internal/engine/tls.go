package engine

import (
	"fmt"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// JudgeTLS passes a completed handshake with a certificate that verifies and was not replaced.
func JudgeTLS(c Check, m probes.TLSResult) result.Result {
	r := base(c)
	r.Metrics = result.Metrics{result.MetricRTTMS: result.Millis(m.RTT)}
	if m.Version != "" {
		r.Metrics[result.MetricTLSVersion] = m.Version
		r.Metrics[result.MetricCertSubject] = m.Subject
		if !m.NotAfter.IsZero() {
			r.Metrics[result.MetricCertExpires] = m.NotAfter.UTC().Format(time.RFC3339)
		}
	}
	switch {
	case m.HandshakeError != "":
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s reaches %s but no TLS handshake completed: %s", c.From, c.Target(), m.HandshakeError)
		r.Hint = "Something on the path answers but is not the service: a proxy or firewall that cuts TLS. Let the configuration server reach it directly or configure the proxy in ASR."
	case m.Intercepted:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s -> %s: the certificate was replaced (issuer %s): an inspecting proxy", c.From, c.Target(), m.Issuer)
		r.Hint = "Exempt ASR's endpoints from TLS inspection."
	case !m.Verified:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s -> %s: %s, but the certificate does not verify: %s", c.From, c.Target(), m.Version, m.VerifyError)
	default:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s -> %s: %s, certificate %s", c.From, c.Target(), m.Version, m.Subject)
	}
	return r
}

// certWarnBefore: a certificate that expires this soon is worth a warning before a cutover
// that may run for days.
const certWarnBefore = 14 * 24 * time.Hour

// AddTLS adds what a handshake with the real service showed to a passing port result: the
// TLS version and certificate, a warning when no handshake completes (the port is held by
// something that is not the HTTPS service ASR expects, or a device cuts TLS) or when the
// certificate has expired or expires within two weeks.
func AddTLS(r *result.Result, m probes.TLSResult, now time.Time) {
	if r.Metrics == nil {
		r.Metrics = result.Metrics{}
	}
	if m.HandshakeError != "" {
		r.Metrics[result.MetricTLSWarning] = true
		if r.Status == result.Pass {
			r.Status = result.Warn
		}
		r.Message += "; but no TLS handshake completed: " + m.HandshakeError
		r.Hint = "ASR's services speak HTTPS on this port: check what listens there, and that no device on the path cuts TLS."
		return
	}
	r.Metrics[result.MetricTLSVersion] = m.Version
	r.Metrics[result.MetricCertSubject] = m.Subject
	if m.NotAfter.IsZero() {
		return
	}
	r.Metrics[result.MetricCertExpires] = m.NotAfter.UTC().Format(time.RFC3339)
	switch left := m.NotAfter.Sub(now); {
	case left <= 0:
		r.Metrics[result.MetricTLSWarning] = true
		if r.Status == result.Pass {
			r.Status = result.Warn
		}
		r.Message += fmt.Sprintf("; its certificate (%s) expired on %s", m.Subject, m.NotAfter.UTC().Format("2006-01-02"))
		r.Hint = "Renew the component's certificate before failback: ASR components refuse expired peers."
	case left < certWarnBefore:
		r.Metrics[result.MetricTLSWarning] = true
		if r.Status == result.Pass {
			r.Status = result.Warn
		}
		r.Message += fmt.Sprintf("; its certificate (%s) expires on %s", m.Subject, m.NotAfter.UTC().Format("2006-01-02"))
		r.Hint = "Renew the component's certificate before the cutover window."
	}
}
