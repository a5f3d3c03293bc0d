package agent

import (
	"crypto/tls"
	"errors"
	"net"
)

// certRefusal is this client refusing the agent's certificate in the handshake: none sent, or
// not the pinned one. crypto/tls returns it from the handshake as it is.
type certRefusal struct{ msg string }

func (e *certRefusal) Error() string { return e.msg }

// certificateFailure reports whether a TLS error is about a certificate: the agent's did not
// verify (against the CA: *tls.CertificateVerificationError; against the pin: *certRefusal),
// or the agent refused ours with a certificate alert (its --client-ca).
func certificateFailure(err error) bool {
	var verify *tls.CertificateVerificationError
	var refused *certRefusal
	if errors.As(err, &verify) || errors.As(err, &refused) {
		return true
	}
	_, ok := peerCertAlert(err)
	return ok
}

// certAlerts are the TLS alerts about a certificate (RFC 8446 section 6.2, RFC 6066 and RFC
// 8446's certificate_required): bad, unsupported, revoked, expired and unknown certificate,
// unknown CA, certificate unobtainable, bad certificate status response, bad certificate hash
// value, certificate required.
var certAlerts = []tls.AlertError{42, 43, 44, 45, 46, 48, 111, 113, 114, 116}

// peerCertAlert is the certificate alert the agent sent, when err is one. crypto/tls reports a
// peer's alert as a *net.OpError "remote error" around its unexported alert type, which prints
// as the exported tls.AlertError of the same number does: the alert is told by that.
func peerCertAlert(err error) (tls.AlertError, bool) {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "remote error" || oe.Err == nil {
		return 0, false
	}
	for _, a := range certAlerts {
		if oe.Err.Error() == a.Error() {
			return a, true
		}
	}
	return 0, false
}
