//go:build linux

// Command bench runs netprobe side by side with the classic tools on the same lab links, in
// one run, and prints one table of ratios (netprobe / reference) with the targets of issue 10
// and PASS/MISS, and writes bench.json (docs/performance.md):
//
//   - throughput, 1 and 4 streams, against iperf3 -P1 / -P4, on the unshaped VPN veth and on
//     the same veth shaped with tbf;
//   - port classification of a mixed set against nmap -sT -Pn: agreement and wall time;
//   - RTT p50 of UDP echo (probes.Latency) and ICMP (probes.ICMP) against ping;
//   - a generated estate of 1,000 VMs checked by a real `netprobe check` process against lab
//     agents with 10 % of flows dropped: wall time per probe timeout, coordinator peak RSS;
//   - an idle agent's RSS and CPU.
//
// It needs Linux and root. Everything it sends stays inside the network namespaces it builds
// (np<pid>x...) and loopback; they are removed at the end, also on error and Ctrl-C.
//
//	sudo go run ./bench [-rounds 3] [-t 3s] [-idle 60s] [-vms 1000] [-o bench.json]
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
)

// Config is every knob of a run; bench.json records it beside the figures.
type Config struct {
	Rounds       int           `json:"rounds"`
	Duration     time.Duration `json:"throughput_duration_ns"`
	WarmUp       time.Duration `json:"throughput_warmup_ns"`
	ShapeMbps    int64         `json:"shaped_mbps"`
	PortTimeout  time.Duration `json:"port_timeout_ns"`
	RTTSamples   int           `json:"rtt_samples"`
	RTTInterval  time.Duration `json:"rtt_interval_ns"`
	VMs          int           `json:"estate_vms"`
	LargeVMs     int           `json:"estate_large_vms"`
	VMsPerNS     int           `json:"estate_vms_per_namespace"`
	DropPct      float64       `json:"estate_drop_percent"`
	SharedAgents bool          `json:"estate_shared_agents"`
	Timeout      time.Duration `json:"estate_probe_timeout_ns"`
	Concurrency  int           `json:"estate_concurrency"`
	HubRate      float64       `json:"estate_hub_probe_rate"`
	HubByteRate  int64         `json:"estate_hub_probe_byte_rate"`
	Idle         time.Duration `json:"idle_ns"`
	Only         string        `json:"only,omitempty"`
	Out          string        `json:"-"`
	Keep         bool          `json:"-"`
	Bin          string        `json:"-"`
	Profile      string        `json:"-"`
}

func main() {
	var c Config
	flag.IntVar(&c.Rounds, "rounds", 3, "rounds of each comparison; medians are compared")
	flag.DurationVar(&c.Duration, "t", 3*time.Second, "measured duration of each throughput run")
	flag.DurationVar(&c.WarmUp, "warmup", time.Second, "throughput warm-up excluded from both tools")
	flag.Int64Var(&c.ShapeMbps, "rate", 50, "tbf rate of the shaped link, Mbit/s")
	flag.DurationVar(&c.PortTimeout, "port-timeout", 0, "netprobe probe port --timeout (0: the CLI's default)")
	flag.IntVar(&c.RTTSamples, "samples", 100, "RTT samples per tool per round")
	flag.DurationVar(&c.RTTInterval, "interval", 10*time.Millisecond, "gap between RTT samples")
	flag.IntVar(&c.VMs, "vms", 1000, "protected VMs in the generated estate")
	flag.IntVar(&c.LargeVMs, "large-vms", 10000, "protected VMs of the large estate (section large: shared agents, a lab of its own)")
	flag.IntVar(&c.VMsPerNS, "vms-per-ns", 250, "VM addresses (and topology hosts) per agent namespace")
	flag.Float64Var(&c.DropPct, "drop", 10, "percent of the estate's checks whose flow is dropped")
	flag.BoolVar(&c.SharedAgents, "shared-agents", false, "the VMs of a namespace name one agent address (default: each its own address, one agent process per namespace either way)")
	flag.DurationVar(&c.Timeout, "timeout", 2*time.Second, "the estate's settings.timeout (one probe attempt)")
	flag.IntVar(&c.Concurrency, "concurrency", 0, "netprobe check --concurrency for the estate (0: its default)")
	flag.Float64Var(&c.HubRate, "hub-rate", 0, "agent --max-probe-rate of cs01, mt01 and ps-az in the estate (0: the agent's default)")
	flag.Int64Var(&c.HubByteRate, "hub-byte-rate", 0, "agent --max-probe-byte-rate of cs01, mt01 and ps-az in the estate, bytes/s (0: the agent's default)")
	flag.DurationVar(&c.Idle, "idle", 60*time.Second, "how long the idle agent is watched")
	flag.StringVar(&c.Only, "only", "", "comma-separated sections to run: throughput,ports,rtt,estate,large,idle (default all)")
	flag.StringVar(&c.Out, "o", "bench.json", "where to write the JSON results")
	flag.StringVar(&c.Bin, "bin", "", "use this netprobe binary instead of building ./cmd/netprobe")
	flag.StringVar(&c.Profile, "profile", "", "write to this directory the estate coordinator's CPU profile and heap profile at its peak, and a VM-namespace agent's CPU profile; the RSS row then says where the coordinator's memory went")
	flag.BoolVar(&c.Keep, "keep", false, "keep the work directory (binary, estate topology, the check's JSON) and print where")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func (c Config) want(section string) bool {
	if c.Only == "" {
		return true
	}
	for _, s := range strings.Split(c.Only, ",") {
		if strings.TrimSpace(s) == section {
			return true
		}
	}
	return false
}

func run(ctx context.Context, c Config) error {
	if why := lab.Unavailable(); why != "" {
		return fmt.Errorf("the bench builds a lab: %s (run it as root: sudo make bench)", why)
	}
	if err := tools(); err != nil {
		return err
	}
	doc := Doc{Schema: "netprobe/bench/v1", Started: time.Now(), Machine: machine(), Params: c}
	work, err := os.MkdirTemp("", "netprobe-bench-")
	if err != nil {
		return err
	}
	if c.Keep {
		defer step("kept %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	bin := c.Bin
	if bin == "" {
		step("building netprobe")
		bin = filepath.Join(work, "netprobe")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/netprobe")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/netprobe (run the bench from the repository root, or give -bin): %v\n%s", err, out)
		}
	}

	step("building the lab")
	spec := benchSpec(c)
	l, err := lab.Up(ctx, spec, lab.Options{})
	if err != nil {
		return fmt.Errorf("building the lab: %w", err)
	}
	defer closeLab(ctx, l)

	// The idle agent is watched while the other sections run: its own CPU time is counted,
	// not the machine's, and nothing talks to it.
	var idle <-chan []Row
	if c.want("idle") {
		idle = startIdle(ctx, l, bin, work, c.Idle)
	}
	var rows []Row
	if c.want("throughput") {
		rows = append(rows, throughput(ctx, l, c)...)
	}
	if c.want("ports") && ctx.Err() == nil {
		rows = append(rows, ports(ctx, l, bin, c)...)
	}
	if c.want("rtt") && ctx.Err() == nil {
		rows = append(rows, rtt(ctx, l, c)...)
	}
	if c.want("estate") && ctx.Err() == nil {
		rows = append(rows, estate(ctx, l, bin, work, c)...)
	}
	if c.want("large") && c.LargeVMs > 0 && ctx.Err() == nil {
		rows = append(rows, estateLarge(ctx, bin, work, c)...)
	}
	if idle != nil && ctx.Err() == nil {
		step("waiting for the idle agent's window to end")
		select {
		case r := <-idle:
			rows = append(rows, r...)
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted; the lab is removed, nothing written")
	}
	doc.Duration = time.Since(doc.Started)
	doc.Rows = rows
	fmt.Println()
	fmt.Printf("netprobe bench: %d cores, kernel %s, load before %s, %s in %s\n",
		doc.Machine.NProc, doc.Machine.Kernel, doc.Machine.LoadAvg, doc.Machine.Go, doc.Duration.Round(time.Second))
	WriteTable(os.Stdout, rows)
	if err := writeJSON(c.Out, doc); err != nil {
		return fmt.Errorf("writing %s: %w", c.Out, err)
	}
	fmt.Printf("wrote %s\n", c.Out)
	return nil
}

// Estate addressing: the VMs live in 10.30.0.0/18 on the Azure side (the retained /24 of the
// failback lab is too small for 1,000), VMsPerNS addresses per agent namespace.
const (
	vmNet     = "10.30.0.0/18"
	vmGateway = "10.30.0.1/18"
	// maxVMNamespaces is how many /24s vmNet holds: 64 x 250 VMs, room for the 10,000-VM row.
	maxVMNamespaces = 64
	// vmGatewayAddr is the Azure router on the VM LAN.
	vmGatewayAddr = "10.30.0.1"
	vmLAN         = "vms"
)

// closeLab removes a lab, also when ctx was cancelled, and says so when it cannot.
func closeLab(ctx context.Context, l *lab.Lab) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := l.Close(cctx); err != nil {
		fmt.Fprintf(os.Stderr, "bench: removing the lab: %v (ip netns list | grep %s)\n", err, l.Prefix())
	}
}

// benchSpec is the failback lab with the VPN unshaped (the throughput section shapes it
// itself) and, for the estate section, the estate's VM namespaces on an extra Azure LAN.
func benchSpec(c Config) lab.Spec {
	if c.want("estate") {
		return estateSpec(c)
	}
	c.VMs = 0
	return estateSpec(c)
}

// estateSpec is the failback lab with the VPN unshaped and the VM namespaces of an estate of
// c.VMs on an extra Azure LAN.
func estateSpec(c Config) lab.Spec {
	s := lab.Failback()
	s.Link(lab.VPN).Rate = 0
	az := s.Site(lab.Azure)
	az.LANs = append(az.LANs, lab.LANSpec{Name: vmLAN, Gateway: netip.MustParsePrefix(vmGateway)})
	cs := s.Host(lab.CS01)
	cs.Routes = append(cs.Routes, lab.Route{Prefix: netip.MustParsePrefix(vmNet), Via: netip.MustParseAddr(lab.AddrFBGW)})
	if c.VMs > 0 {
		for k := range vmNamespaces(c) {
			s.Hosts = append(s.Hosts, lab.HostSpec{Name: vmHost(k), Site: lab.Azure,
				NICs:   []lab.NICSpec{{Name: "eth0", LAN: vmLAN, Addr: netip.PrefixFrom(vmAddr(c, k*c.VMsPerNS), netip.MustParsePrefix(vmNet).Bits())}},
				Routes: []lab.Route{{Prefix: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr(vmGatewayAddr)}}})
		}
	}
	return s
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// tools checks the reference tools and installs the missing ones with apt-get (we are root).
func tools() error {
	need := map[string]string{"iperf3": "iperf3", "nmap": "nmap", "ping": "iputils-ping", "iptables-restore": "iptables"}
	var missing []string
	for bin, pkg := range need {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	step("installing %s", strings.Join(missing, " "))
	cmd := exec.Command("apt-get", append([]string{"install", "-y", "-q"}, missing...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("the bench compares against %s, and apt-get install failed (%v): install them by hand\n%s",
			strings.Join(missing, ", "), err, out)
	}
	return nil
}

func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version()}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = utsString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	m.Host, _ = os.Hostname()
	return m
}

func utsString[T int8 | uint8](b []T) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
