package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func delaySynAcks(ctx context.Context, l *Lab, r *Host, f DelaySynAcks) (func(context.Context) error, error) {
	tun, err := openTUN(r, synDelayDev)
	if err != nil {
		return nil, fmt.Errorf("%v: TUN device: %w", f, err)
	}
	dl := &delayLine{tun: tun, delay: f.Delay}
	dl.wg.Go(dl.serve)
	var undos []func(context.Context) error
	undo := func(ctx context.Context) error {
		var errs []error
		for i := len(undos) - 1; i >= 0; i-- {
			errs = append(errs, undos[i](ctx))
		}
		errs = append(errs, dl.close())
		return errors.Join(errs...)
	}
	fail := func(err error) (func(context.Context) error, error) {
		return nil, errors.Join(fmt.Errorf("%v: %w", f, err), undo(ctx))
	}
	// Packets written back into the device arrive on it: rp_filter would drop them (their
	// source is reached through another interface), so it is off there and, since the
	// kernel takes the larger of the two, for "all".
	prevAll, err := r.Exec(ctx, "sysctl", "-n", "net.ipv4.conf.all.rp_filter")
	if err != nil {
		return fail(err)
	}
	for _, cmd := range [][]string{
		{"ip", "link", "set", "dev", synDelayDev, "up"},
		{"sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf." + synDelayDev + ".rp_filter=0"},
		{"ip", "route", "add", "default", "dev", synDelayDev, "table", synDelayTable},
		{"ip", "rule", "add", "fwmark", synDelayMark, "lookup", synDelayTable, "priority", synDelayTable},
	} {
		if _, err := r.Exec(ctx, cmd[0], cmd[1:]...); err != nil {
			return fail(err)
		}
	}
	undos = append(undos, func(ctx context.Context) error {
		_, err1 := r.Exec(ctx, "ip", "rule", "del", "fwmark", synDelayMark, "lookup", synDelayTable, "priority", synDelayTable)
		_, err2 := r.Exec(ctx, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter="+strings.TrimSpace(string(prevAll)))
		return errors.Join(err1, err2) // the route goes with the device
	})
	// Marked before routing; what comes back out of the device is not marked again.
	undoRule, err := applyRules(ctx, f.String(), []rule{{node: r, table: "mangle", chain: "PREROUTING", spec: []string{
		"!", "-i", synDelayDev, "-d", f.To.String(), "-p", "tcp", "--tcp-flags", "SYN,ACK", "SYN,ACK",
		"-j", "MARK", "--set-mark", synDelayMark,
	}}})
	if err != nil {
		return fail(err)
	}
	undos = append(undos, undoRule)
	l.addCloser(dl.close)
	return undo, nil
}

// openTUN creates a TUN device (no packet information header) in h's namespace.
func openTUN(h *Host, name string) (*os.File, error) {
	var f *os.File
	err := h.Do(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return err
		}
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF %s: %w", name, err)
		}
		// Non-blocking, so reads go through Go's poller and Close interrupts them.
		f = os.NewFile(uintptr(fd), name)
		return nil
	})
	return f, err
}

// delayLine writes every packet read from tun back into it after delay.
type delayLine struct {
	tun   *os.File
	delay time.Duration
	wg    sync.WaitGroup
	sends pendingSends // the packets held back, dropped on close
}

func (d *delayLine) serve() {
	buf := make([]byte, 64<<10)
	for {
		n, err := d.tun.Read(buf)
		if err != nil {
			return // closed
		}
		pkt := append([]byte(nil), buf[:n]...)
		if !d.sends.after(d.delay, func() { _, _ = d.tun.Write(pkt) }) {
			return
		}
	}
}

// close stops the pending writes and removes the device (it goes with its last descriptor).
func (d *delayLine) close() error {
	if d.sends.stop() {
		return nil
	}
	err := d.tun.Close()
	d.wg.Wait()
	return err
}
