package agent

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// Streamed answers. An answer signed in one header (Netprobe-Server-Auth) can only be sent
// once its whole body is known; a bandwidth test that reports each interval as it goes cannot
// wait for that. So a streamed answer signs each line instead: every line is a StreamLine whose
// MAC covers the request's counter, the line's sequence number (from 0), its status (0 for an
// event, the HTTP-like status on the final line) and its message. The client checks the lines
// in order, so it acts on no line it has not verified (the live progress shows only rates the
// agent sent), a line cannot be dropped, reordered or moved to another request, and an answer
// cut short lacks its signed final line and fails.
//
// Refusals (bounds, allowlist, busy) come before the stream starts, as ordinary signed answers.

// ContentTypeStream is the media type of a streamed answer: one StreamLine per line.
const ContentTypeStream = "application/x-ndjson"

// StreamLine is one line of a streamed answer. Msg is an event (for bandwidth, a
// BandwidthInterval) while Status is 0; the last line has the Status and Msg a non-streamed
// call would have got (200 and the answer, or an error status and an ErrorResponse). MAC is
// base64 of HMAC-SHA256 over them, keyed by the session key; it is empty with mutual TLS only.
type StreamLine struct {
	Msg    json.RawMessage `json:"msg"`
	Status int             `json:"status,omitempty"`
	MAC    string          `json:"mac,omitempty"`
}

// streamMAC authenticates line seq of the streamed answer to the request with counter.
func streamMAC(key []byte, counter, seq uint64, status int, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("netprobe-stream\x00"))
	m.Write(binary.BigEndian.AppendUint64(nil, counter))
	m.Write(binary.BigEndian.AppendUint64(nil, seq))
	m.Write(binary.BigEndian.AppendUint16(nil, uint16(status)))
	h := sha256.Sum256(msg)
	m.Write(h[:])
	return m.Sum(nil)
}

// streamer writes one streamed answer. It is used by the handler's goroutine only.
type streamer struct {
	w       http.ResponseWriter
	key     []byte // nil with mutual TLS only
	counter uint64
	seq     uint64
	started bool
	failed  error // a write failed (the client is gone): later lines are dropped
}

// start commits the answer to a stream: status 200 now, lines after.
func (st *streamer) start() {
	h := st.w.Header()
	h.Set("Content-Type", ContentTypeStream)
	h.Set("Cache-Control", "no-store")
	st.w.WriteHeader(http.StatusOK)
	st.started = true
}

// event sends one event line.
func (st *streamer) event(v any) error { return st.line(v, 0) }

// final sends the last line: the answer, or the refusal.
func (st *streamer) final(out any, aerr *apiError) {
	status := http.StatusOK
	if aerr != nil {
		status = aerr.status
		out = ErrorResponse{V: Version, Error: WireError{Code: aerr.code, Message: aerr.msg}}
	}
	_ = st.line(out, status)
}

func (st *streamer) line(v any, status int) error {
	if st.failed != nil {
		return st.failed
	}
	msg, err := json.Marshal(v)
	if err != nil {
		if status == 0 {
			return err
		}
		status = http.StatusInternalServerError
		msg, _ = json.Marshal(ErrorResponse{V: Version, Error: WireError{Code: CodeInternal, Message: "encode answer: " + err.Error()}})
	}
	l := StreamLine{Msg: msg, Status: status}
	if st.key != nil {
		l.MAC = base64.RawStdEncoding.EncodeToString(streamMAC(st.key, st.counter, st.seq, status, msg))
	}
	st.seq++
	b, err := json.Marshal(l)
	if err != nil {
		st.failed = err
		return err
	}
	if _, err := st.w.Write(append(b, '\n')); err != nil {
		st.failed = err
		return err
	}
	if err := http.NewResponseController(st.w).Flush(); err != nil {
		st.failed = err
		return err
	}
	return nil
}

// isStream reports whether an answer is streamed.
func isStream(resp *http.Response) bool {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return err == nil && mt == ContentTypeStream
}

// readStream reads a streamed answer on cc: it verifies each line in order, hands events to
// onEvent, and returns the final line's status and message. Its errors never wrap io.EOF or a
// reset: the agent saw the request, so the call must not be retried as if on a stale connection.
func readStream(cc *clientConn, body io.Reader, onEvent func(json.RawMessage) error) (int, []byte, error) {
	br := bufio.NewReader(body)
	for seq := uint64(0); ; seq++ {
		raw, err := readStreamLine(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, nil, fmt.Errorf("the agent's streamed answer ended after %d lines, before its final line", seq)
			}
			if errors.Is(err, errTooLarge) {
				return 0, nil, &authAnswerError{fmt.Errorf("%w: a streamed line is over %d bytes", ErrProtocol, maxResponse)}
			}
			return 0, nil, fmt.Errorf("the agent's streamed answer broke after %d lines: %v", seq, err)
		}
		var l StreamLine
		if err := json.Unmarshal(raw, &l); err != nil || len(l.Msg) == 0 {
			return 0, nil, &authAnswerError{fmt.Errorf("%w: streamed line %d is not a StreamLine: %.200q", ErrProtocol, seq, raw)}
		}
		if cc.key != nil {
			mac, err := base64.RawStdEncoding.DecodeString(l.MAC)
			if err != nil || !hmac.Equal(mac, streamMAC(cc.key, cc.counter, seq, l.Status, l.Msg)) {
				return 0, nil, &authAnswerError{fmt.Errorf("%w: streamed line %d's signature does not verify: the peer is not an agent holding this token", ErrAuth, seq)}
			}
		}
		if l.Status != 0 {
			if _, err := br.ReadByte(); err != io.EOF {
				return 0, nil, &authAnswerError{fmt.Errorf("%w: data after the final streamed line", ErrProtocol)}
			}
			return l.Status, l.Msg, nil
		}
		if err := onEvent(l.Msg); err != nil {
			return 0, nil, &authAnswerError{fmt.Errorf("%w: streamed line %d: %v", ErrProtocol, seq, err)}
		}
	}
}

// readStreamLine reads one '\n'-terminated line of at most maxResponse bytes.
func readStreamLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxResponse {
			return nil, errTooLarge
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(line, []byte("\n")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
