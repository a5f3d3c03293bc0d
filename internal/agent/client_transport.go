package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

// call sends one request and decodes the answer into out.
func (c *Client) call(ctx context.Context, path string, in, out any) error {
	return c.callStream(ctx, path, in, nil, out)
}

// callStream is call for a request that asks for a streamed answer: onEvent gets each verified
// event line, and out the final one. An agent may still answer in one piece (a refusal).
func (c *Client) callStream(ctx context.Context, path string, in any, onEvent func(json.RawMessage) error, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("agent client: encode request: %w", err)
	}
	if len(body) > MaxBody {
		return fmt.Errorf("%w: request of %d bytes is over the agent's %d-byte limit", ErrProtocol, len(body), MaxBody)
	}
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %s: %w waiting for a free connection: %w", ErrUnreachable, c.addr, ErrNoAnswer, ctx.Err())
	}
	defer func() { <-c.slots }()

	for attempt := 0; ; attempt++ {
		cc, reused, err := c.conn(ctx)
		if err != nil {
			return err
		}
		status, data, signed, err := c.roundTrip(ctx, cc, path, body, onEvent)
		if err != nil {
			_ = cc.tc.Close()
			// An idle connection the agent closed fails before any answer: retry once on a
			// fresh one. The agent never saw the request, so this cannot run it twice.
			if reused && attempt == 0 && ctx.Err() == nil && isStale(err) {
				continue
			}
			return c.transportErr(ctx, err)
		}
		c.put(cc)
		return c.decodeAnswer(path, status, data, signed, out)
	}
}

func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func (c *Client) transportErr(ctx context.Context, err error) error {
	var ae *authAnswerError
	if errors.As(err, &ae) {
		return ae.err
	}
	// The connection's deadline is the context's: its timeout can fire a moment before the
	// context's own timer marks it done, and means the same.
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		cause := ctx.Err()
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		return fmt.Errorf("%w: %s: %w: %w", ErrUnreachable, c.addr, ErrNoAnswer, cause)
	}
	// TLS 1.3 reports a refused client certificate as an alert on the first read.
	if certificateFailure(err) {
		return fmt.Errorf("%w: %s: TLS: %w (check the client certificate against the agent's --client-ca)", ErrAuth, c.addr, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnreachable, c.addr, err)
}

// connectErr is a failure to reach the agent before any request was sent.
func (c *Client) connectErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %s: %w: %w", ErrUnreachable, c.addr, err, cerr)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnreachable, c.addr, err)
}

// authAnswerError carries a classified error out of roundTrip (unsigned or mis-signed answers).
type authAnswerError struct{ err error }

func (e *authAnswerError) Error() string { return e.err.Error() }

func (c *Client) conn(ctx context.Context) (*clientConn, bool, error) {
	select {
	case cc := <-c.idle:
		return cc, true, nil
	default:
	}
	dial := c.cfg.DialContext
	if dial == nil {
		dial = controlDialer().DialContext
	}
	// Connect and handshake failures, timeouts included, are plain ErrUnreachable: nothing
	// was asked yet, and an agent that cannot be reached (host down, SYN dropped) is gone.
	raw, err := dial(ctx, "tcp", c.addr)
	if err != nil {
		return nil, false, c.connectErr(ctx, err)
	}
	tc := tls.Client(raw, c.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		if errors.Is(err, ErrCertChanged) {
			return nil, false, err // names the agent and both certificates
		}
		if ctx.Err() == nil && certificateFailure(err) {
			return nil, false, fmt.Errorf("%w: %s: TLS: %w (check the agent's certificate, --client-ca and the pin)", ErrAuth, c.addr, err)
		}
		return nil, false, c.connectErr(ctx, fmt.Errorf("TLS handshake: %w", err))
	}
	cc := &clientConn{tc: tc, br: bufio.NewReader(tc)}
	if len(c.cfg.Token) > 0 {
		cs := tc.ConnectionState()
		cc.key, err = sessionKey(c.cfg.Token, &cs)
		if err != nil {
			_ = tc.Close()
			return nil, false, fmt.Errorf("%w: %w", ErrProtocol, err)
		}
	}
	return cc, false, nil
}

func (c *Client) put(cc *clientConn) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed || cc.dead {
		_ = cc.tc.Close()
		return
	}
	select {
	case c.idle <- cc:
	default:
		_ = cc.tc.Close()
	}
}

// roundTrip writes one HTTP/1.1 request on cc and reads the answer, within ctx. It checks the
// agent's signature over the answer. Doing HTTP by hand (rather than http.Transport) is what
// lets the MAC bind to the TLS session the request actually travels on.
//
// With onEvent set, a streamed answer (ContentTypeStream) is read line by line (readStream).
func (c *Client) roundTrip(ctx context.Context, cc *clientConn, path string, body []byte, onEvent func(json.RawMessage) error) (status int, data []byte, signed bool, err error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.tc.SetDeadline(dl)
	}
	// Cancel unblocks the read at once, not at the deadline.
	stop := context.AfterFunc(ctx, func() { _ = cc.tc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req, err := http.NewRequest(http.MethodPost, "https://"+c.addr+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	cc.counter++
	if cc.key != nil {
		req.Header.Set(HeaderAuth, formatAuth(cc.counter, requestMAC(cc.key, cc.counter, http.MethodPost, path, body)))
	}
	if err := req.Write(cc.tc); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(cc.br, req)
	if err != nil {
		return 0, nil, false, err
	}
	if onEvent != nil && resp.StatusCode == http.StatusOK && isStream(resp) {
		status, data, err = readStream(cc, resp.Body, onEvent)
		resp.Body.Close()
		if err != nil {
			return 0, nil, false, err
		}
		cc.dead = cc.dead || resp.Close
		return status, data, cc.key != nil, nil
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	resp.Body.Close()
	if err != nil {
		return 0, nil, false, err
	}
	if len(data) > maxResponse {
		return 0, nil, false, &authAnswerError{fmt.Errorf("%w: answer over %d bytes", ErrProtocol, maxResponse)}
	}
	if resp.Close {
		// The agent will close; do not pool it. The answer is still good.
		cc.dead = true
	}
	if cc.key != nil {
		signed, err = verifyAnswer(cc, resp, data)
		if err != nil {
			return 0, nil, false, &authAnswerError{err}
		}
	}
	return resp.StatusCode, data, signed, nil
}

// verifyAnswer checks the agent's MAC. Refusals sent before authentication (401, the failure
// rate limit, an oversized body) cannot be signed; they are classified by decodeAnswer and
// never taken as success.
func verifyAnswer(cc *clientConn, resp *http.Response, data []byte) (signed bool, err error) {
	hv := resp.Header.Get(HeaderServerAuth)
	if hv == "" {
		if resp.StatusCode == http.StatusOK {
			return false, fmt.Errorf("%w: the answer is not signed: the peer is not an agent holding this token", ErrAuth)
		}
		return false, nil
	}
	counter, mac, err := parseAuth(hv)
	if err != nil || counter != cc.counter || !hmac.Equal(mac, responseMAC(cc.key, counter, resp.StatusCode, data)) {
		return false, fmt.Errorf("%w: the answer's signature does not verify: the peer is not an agent holding this token", ErrAuth)
	}
	return true, nil
}

func (c *Client) decodeAnswer(path string, status int, data []byte, signed bool, out any) error {
	if status != http.StatusOK {
		var er ErrorResponse
		if err := json.Unmarshal(data, &er); err != nil || er.Error.Code == "" {
			return fmt.Errorf("%w: %s %s: HTTP %d with a body that is not an agent error: %.200q", ErrProtocol, c.addr, path, status, data)
		}
		switch {
		case er.Error.Code == CodeAuth:
			return fmt.Errorf("%w (agent %s: %s)", ErrAuth, c.addr, er.Error.Message)
		case er.Error.Code == CodeRateLimited && len(c.cfg.Token) > 0 && !signed:
			// Refused before authentication: the failure limit, i.e. earlier bad tokens.
			return fmt.Errorf("%w (agent %s: %s)", ErrAuth, c.addr, er.Error.Message)
		case er.Error.Code == CodeVersion || er.Error.Code == CodeBadRequest || er.Error.Code == CodeTooLarge:
			return fmt.Errorf("%w: %s: %s", ErrProtocol, c.addr, er.Error.Message)
		}
		return &RemoteError{Status: status, Code: er.Error.Code, Message: er.Error.Message, Agent: c.addr}
	}
	var head struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("%w: %s %s: answer is not JSON: %v", ErrProtocol, c.addr, path, err)
	}
	if head.V != Version {
		return fmt.Errorf("%w: %s speaks protocol version %d, this netprobe %d: run the same netprobe version on both sides", ErrProtocol, c.addr, head.V, Version)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrProtocol, c.addr, path, err)
	}
	return nil
}
