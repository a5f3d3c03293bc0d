// Package agent is the netprobe agent and its client. The agent runs on the hosts of an
// estate and, on authenticated request from a coordinator, runs probes from that host, opens
// temporary responders on ports a flow needs (leaving ports held by real services alone),
// reports host facts for readiness rules, and serves the bandwidth endpoint.
//
// Because an agent opens listeners and makes traffic on command, it must be safe to leave
// running:
//
//   - HTTPS only (TLS 1.3), with a self-signed ECDSA certificate unless one is given.
//   - Every request carries HMAC-SHA256 over (counter, method, path, body) keyed by
//     HMAC-SHA256(token, TLS exporter "EXPORTER-netprobe-auth"). The token never crosses the
//     wire; a man in the middle holds two TLS sessions with different exporters and cannot
//     relay a MAC; a strictly growing per-connection counter refuses replays. The agent signs
//     its answers the same way, so the client knows the agent holds the token.
//   - Mutual TLS (ClientCAs) is the alternative for sites with a PKI.
//   - Failed attempts are logged and rate-limited per source IP (429); a request with a
//     valid MAC is never refused for failures, its source's or anyone else's.
//   - Control messages are versioned JSON ({"v":1,...}), at most MaxBody bytes, decoded
//     strictly: unknown fields and trailing data are refused.
//   - Bounds (probe timeout, probe rate, responder count and lifetime, bandwidth duration and
//     streams) cap what any request can ask; an optional allowlist limits probe targets.
//   - No endpoint runs a command or reads a file a request names.
//   - A bandwidth responder's data port (bwtest's unauthenticated protocol) admits only the
//     one-time ticket its opening issued (ResponderPort.Ticket, bwtest.Tickets).
//
// The wire: POST PathHello, PathProbe, PathRespondersOpen, PathResponderClose,
// PathHostFacts and PathBandwidthRun; a responder of proto ProtoBandwidth serves
// internal/bwtest on a data port. Errors are ErrorResponse bodies. A bandwidth run may be
// streamed: signed StreamLine lines, one per interval, then the answer.
//
// Apart from the control API, ServeMetrics serves the agent's own Prometheus metrics on a
// plain-HTTP listener of its own: read-only and unauthenticated, for loopback or a
// management network.
package agent
