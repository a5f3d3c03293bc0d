package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// TestMessageRefusals: authenticated, well-signed requests whose bodies break the protocol are
// refused with the right status and code.
func TestMessageRefusals(t *testing.T) {
	a := startAgent(t, Config{})
	cases := []struct {
		name   string
		path   string
		body   []byte
		status int
		code   string
	}{
		{"oversized", PathHello, append([]byte(`{"v":1,"x":"`), bytes.Repeat([]byte("a"), MaxBody)...), http.StatusRequestEntityTooLarge, CodeTooLarge},
		{"malformed", PathHello, []byte(`{"v":1`), http.StatusBadRequest, CodeBadRequest},
		{"empty", PathHello, nil, http.StatusBadRequest, CodeBadRequest},
		{"not an object", PathHello, []byte(`[1,2]`), http.StatusBadRequest, CodeBadRequest},
		{"unknown field", PathHello, []byte(`{"v":1,"admin":true}`), http.StatusBadRequest, CodeBadRequest},
		{"trailing data", PathHello, []byte(`{"v":1} {"v":1}`), http.StatusBadRequest, CodeBadRequest},
		{"wrong version", PathHello, []byte(`{"v":2}`), http.StatusBadRequest, CodeVersion},
		{"missing version", PathHello, []byte(`{}`), http.StatusBadRequest, CodeVersion},
		{"unknown probe field", PathProbe, []byte(`{"v":1,"kind":"port","params":{"address":"127.0.0.1:1","shell":"rm"}}`), http.StatusBadRequest, CodeBadRequest},
		{"unknown probe kind", PathProbe, []byte(`{"v":1,"kind":"exec","params":{}}`), http.StatusNotImplemented, CodeUnsupported},
		{"relative retention", PathHostFacts, []byte(`{"v":1,"retention":"../etc"}`), http.StatusBadRequest, CodeBadRequest},
		{"bad responder proto", PathRespondersOpen, []byte(`{"v":1,"listen":[{"proto":"sctp","port":9}]}`), http.StatusBadRequest, CodeBadRequest},
		{"bad responder port", PathRespondersOpen, []byte(`{"v":1,"listen":[{"proto":"tcp","port":70000}]}`), http.StatusBadRequest, CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, a.addr, testToken)
			status, er, raw := rc.send(tc.path, tc.body, rc.authHeader(1, tc.path, tc.body))
			if status != tc.status || er.Error.Code != tc.code {
				t.Fatalf("got %d %s, want %d %q", status, raw, tc.status, tc.code)
			}
			if er.V != Version || er.Error.Message == "" {
				t.Errorf("error body %s lacks v or message", raw)
			}
		})
	}
}

// TestClientMapsRefusals: the client turns protocol refusals into ErrProtocol / ErrRefused.
func TestClientMapsRefusals(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	ctx := context.Background()
	err := c.call(ctx, PathHello, map[string]any{"v": 1, "extra": 1}, new(Info))
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "extra") {
		t.Errorf("unknown field: %v, want ErrProtocol naming the field", err)
	}
	err = c.call(ctx, PathHello, map[string]any{"v": 9}, new(Info))
	if !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "same netprobe version") {
		t.Errorf("wrong version: %v, want ErrProtocol with advice", err)
	}
	var res json.RawMessage
	err = c.Probe(ctx, "exec", map[string]string{}, &res)
	var re *RemoteError
	if !errors.Is(err, ErrRefused) || !errors.As(err, &re) || re.Code != CodeUnsupported {
		t.Errorf("unknown kind: %v, want ErrRefused unsupported", err)
	}
	// The connection is still good after refusals.
	if _, err := c.Hello(ctx); err != nil {
		t.Errorf("Hello after refusals: %v", err)
	}
}

// TestClientNeverHangs: a peer that accepts and says nothing, or talks garbage, gives a
// classified error within the caller's deadline.
func TestClientNeverHangs(t *testing.T) {
	silent := listenLoopback(t)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // hold it open, say nothing
		}
	}()
	garbage := listenLoopback(t)
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
			c.Close()
		}
	}()
	closed := listenLoopback(t)
	closedAddr := closed.Addr().String()
	closed.Close()

	cases := []struct {
		name string
		addr string
		want error
	}{
		{"silent", silent.Addr().String(), ErrUnreachable},
		{"garbage", garbage.Addr().String(), ErrUnreachable},
		{"nothing listening", closedAddr, ErrUnreachable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := Dial(ctx, tc.addr, ClientConfig{Token: testToken})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Dial: %v, want %v", err, tc.want)
			}
			// None is a late answer: the silent one never finished the handshake, so no
			// request was sent, and the engine counts it as gone at once.
			if errors.Is(err, ErrNoAnswer) {
				t.Errorf("Dial: %v: ErrNoAnswer, want a plain ErrUnreachable (no request was sent)", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %s, the deadline was 500ms", el)
			}
		})
	}
	// Without a ctx deadline the client's own default applies.
	t.Run("default timeout", func(t *testing.T) {
		start := time.Now()
		_, err := Dial(context.Background(), silent.Addr().String(), ClientConfig{Token: testToken, Timeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrUnreachable) || time.Since(start) > 2*time.Second {
			t.Fatalf("Dial: %v after %s, want ErrUnreachable within the default timeout", err, time.Since(start))
		}
	})
}

// TestAgentGarbageAfterAuth: an answer that is not JSON after a good handshake is ErrProtocol.
func TestDecodeAnswerGarbage(t *testing.T) {
	c := &Client{addr: "x"}
	cases := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"not json", 200, "<html>", ErrProtocol},
		{"other version", 200, `{"v":2}`, ErrProtocol},
		{"error not ours", 500, "oops", ErrProtocol},
		{"auth", 401, `{"v":1,"error":{"code":"auth","message":"m"}}`, ErrAuth},
		{"bounds", 422, `{"v":1,"error":{"code":"bounds","message":"m"}}`, ErrRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.decodeAnswer("/p", tc.status, []byte(tc.body), true, new(Info))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeRequest(t *testing.T) {
	var r OpenRespondersRequest
	if err := DecodeRequest([]byte(`{"v":1,"listen":[{"proto":"tcp","port":443}],"ttl_ms":1000}`), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Listen) != 1 || r.Listen[0].Port != 443 || r.TTLMS != 1000 {
		t.Errorf("decoded %+v", r)
	}
	if err := DecodeRequest([]byte(`{"v":1}`), &struct{ V int }{}); err == nil {
		t.Error("decoding into a non-request type must fail")
	}
}

// FuzzDecodeRequest: the decoder never panics, and whatever it accepts has the right version
// and survives a round trip unchanged.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"v":1}`, `{"v":1,"kind":"port","timeout_ms":100,"params":{"address":"127.0.0.1:1"}}`,
		`{"v":1,"listen":[{"proto":"udp","port":53}],"ttl_ms":5}`, `{"v":1,"id":"ab"}`,
		`{"v":1,"retention":"/var/lib/asr"}`, `{"v":2}`, `{"v":1} x`, `{"v":1,"x":1}`, ``, `null`,
		`{"v":1,"address":"10.0.0.5:9443","params":{"streams":4,"duration_ns":9223372036854775807,"warmup_ns":9223372036854775807,"direction":"send","interval_ns":1}}`,
		`{"v":1,"ports":[{"proto":"tcp","port":443}]}`, `{"v":1,"v":1}`,
		`{"v":1,"params":{"a":` + strings.Repeat("[", 1000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mk := range []func() any{
			func() any { return new(HelloRequest) }, func() any { return new(ProbeRequest) },
			func() any { return new(OpenRespondersRequest) }, func() any { return new(CloseRespondersRequest) },
			func() any { return new(HostFactsRequest) }, func() any { return new(BandwidthRequest) },
			func() any { return new(ResponderStatusRequest) },
		} {
			dst := mk()
			if err := DecodeRequest(data, dst); err != nil {
				if !errors.Is(err, errMalformed) && !errors.Is(err, errVersion) && !errors.Is(err, errTooLarge) {
					t.Fatalf("unclassified error %v", err)
				}
				continue
			}
			if dst.(versioned).version() != Version {
				t.Fatalf("accepted version %d", dst.(versioned).version())
			}
			again, err := json.Marshal(dst)
			if err != nil {
				// A bandwidth request may leave its direction out (bwtest's default, send);
				// the enum refuses to encode its zero value. Nothing else may fail.
				if br, ok := dst.(*BandwidthRequest); ok && br.Params.Direction == 0 {
					continue
				}
				t.Fatalf("re-encode: %v", err)
			}
			dst2 := mk()
			if err := DecodeRequest(again, dst2); err != nil {
				t.Fatalf("round trip of %s: %v", again, err)
			}
			again2, _ := json.Marshal(dst2)
			if !bytes.Equal(again, again2) {
				t.Fatalf("round trip changed %s to %s", again, again2)
			}
		}
	})
}

func TestClientRefusesOversizedRequest(t *testing.T) {
	a := startAgent(t, Config{})
	c := dialAgent(t, a, ClientConfig{})
	big := probesTLSWithRoots(make([]byte, MaxBody))
	var res json.RawMessage
	if err := c.Probe(context.Background(), KindTLS, big, &res); !errors.Is(err, ErrProtocol) {
		t.Fatalf("oversized request: %v, want ErrProtocol before sending", err)
	}
}

func probesTLSWithRoots(pem []byte) map[string]any {
	return map[string]any{"address": "127.0.0.1:1", "root_cas": pem}
}

// TestDuplicateKeysRefused: strict decoding refuses a key named twice in one object, at any
// depth (issue 14, item 8): encoding/json keeps the last one silently, so what one reader
// checked is not what another runs.
func TestDuplicateKeysRefused(t *testing.T) {
	for _, body := range []string{
		`{"v":1,"v":1}`,
		`{"v":1,"kind":"route","kind":"icmp","params":{"address":"127.0.0.1"}}`,
		`{"v":1,"kind":"port","params":{"address":"127.0.0.1:1","address":"10.0.0.1:1"}}`,
		`{"v":1,"listen":[{"proto":"tcp","port":1,"port":2}]}`,
		`{"v":1,"kind":"dns","params":{"name":"a","servers":[{"x":1,"x":2}]}}`,
	} {
		var r ProbeRequest
		var o OpenRespondersRequest
		errP, errO := DecodeRequest([]byte(body), &r), DecodeRequest([]byte(body), &o)
		for _, err := range []error{errP, errO} {
			if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), "twice") {
				t.Errorf("%s: %v, want refused for a duplicate key", body, err)
			}
		}
	}
	// The same key in different objects, and values that look like keys, are fine.
	for _, body := range []string{
		`{"v":1,"kind":"port","params":{"address":"v","proto":"tcp"}}`,
		`{"v":1,"kind":"dns","params":{"name":"kind","servers":["v","v"]}}`,
	} {
		var r ProbeRequest
		if err := DecodeRequest([]byte(body), &r); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
	// Through the agent: refused as bad_request.
	a := startAgent(t, Config{})
	rc := dialRaw(t, a.addr, testToken)
	body := []byte(`{"v":1,"kind":"route","params":{"dest":"127.0.0.1","dest":"10.0.0.1"}}`)
	if st, er, _ := rc.send(PathProbe, body, rc.authHeader(1, PathProbe, body)); st != http.StatusBadRequest || er.Error.Code != CodeBadRequest {
		t.Errorf("duplicate key through the agent: %d %+v, want 400 bad_request", st, er)
	}
}

// FuzzProbeRequest: every number a probe request carries is checked before anything is sent.
// Whatever the bytes, preparing a probe of any kind never panics, and what passes has a
// footprint within the bounds: never negative, never over the per-probe byte budget, its
// packets never closer than the minimum interval (issue 14: 100,000 samples 1 ns apart).
// Nothing is run: prepare only decodes and weighs.
func FuzzProbeRequest(f *testing.F) {
	for _, s := range []string{
		`{"address":"127.0.0.1:7","samples":100000,"interval_ns":1}`, `{"address":"127.0.0.1","count":1000,"size":65499}`,
		`{"address":"10.0.0.1","min":36,"max":65535,"mode":"udp"}`, `{"address":"10.0.0.1:443","max_hops":64}`,
		`{"name":"example.com","servers":["127.0.0.1"]}`, `{"dest":"127.0.0.1"}`, `{"proto":"udp","address":"h:1"}`,
		`{"address":"x","samples":-1,"interval_ns":-9223372036854775808,"size":9223372036854775807}`, `{}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	b := DefaultBounds().withDefaults()
	kinds := builtinKinds()
	g := fuzzGate{b: b}
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, k := range kinds {
			p, err := k.prepare(data, g)
			if err != nil {
				if !errors.Is(err, errMalformed) && !errors.Is(err, errBounds) {
					t.Fatalf("%s: unclassified refusal %v", name, err)
				}
				continue
			}
			fp := p.footprint
			if fp.Packets < 0 || fp.Bytes < 0 || fp.Bytes > b.ProbeBytes || fp.Interval < 0 || fp.Interval > 0 && fp.Interval < b.MinInterval {
				t.Fatalf("%s: accepted %s with footprint %+v over the bounds", name, data, fp)
			}
			if fp.Packets > 0 && fp.Bytes == 0 {
				t.Fatalf("%s: %d packets of no bytes", name, fp.Packets)
			}
		}
	})
}

// fuzzGate is the server's gate without an allowlist.
type fuzzGate struct{ b Bounds }

func (fuzzGate) targets([]string) error          { return nil }
func (g fuzzGate) fits(f probes.Footprint) error { return g.b.fits(f) }

func (fuzzGate) env() *probes.Env { return nil }
