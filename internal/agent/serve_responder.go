package agent

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
)

// Until internal/probes ships ServeTCPResponder / ServeUDPEcho (docs/dev/contracts.md), the
// agent serves the same wire format (probes.ResponderHello, probes.EchoReply) with these.
// TODO(probes): replace with probes.ServeTCPResponder and probes.ServeUDPEcho once they land.

// helloWriteTimeout: the hello is one short line to a peer that just connected; a second is
// plenty and keeps a peer that never reads from holding a goroutine.
const helloWriteTimeout = time.Second

func serveTCPResponder(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		go func() {
			defer c.Close()
			_ = c.SetWriteDeadline(time.Now().Add(helloWriteTimeout))
			ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
			_, _ = c.Write(probes.ResponderHello(ap))
		}()
	}
}

func serveUDPEcho(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { _ = pc.Close() })
	defer stop()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		ap, _ := netip.ParseAddrPort(from.String())
		_, _ = pc.WriteTo(probes.EchoReply(ap, buf[:n]), from)
	}
}
