package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Blob throughput (MFB-BW, MFW-BW): in the modernized architecture the failback data reaches
// the replication appliance as downloads from Azure Storage, and forward data leaves it as
// uploads. The appliance's agent moves a test blob (azure.bandwidth_test_url) the way the
// appliance would, through its proxy, and the rate is judged against the churn of the VMs
// that appliance serves, as FB-BW is.

// blobWarmup is not counted: TCP slow start and the first TLS handshakes (bwtest's 2 s).
const blobWarmup = 2 * time.Second

// blobChecks plans one check per stream count of checks.bandwidth.
func blobChecks(t *topology.Topology, f topology.Flow, c Check) []Check {
	c.Kind = result.CheckBlob
	c.BlobURL = t.Azure.BandwidthTestURL
	c.Upload = f.Rule == "MFW-BW"
	c.Duration = t.Checks.Bandwidth.Duration
	c.Proto = topology.ProtoTCP
	c.Port = 443
	// The report keeps Azure Storage's throughput beside the links' (it carries modernized
	// failback the way a VPN carries classic's).
	c.Link = topology.StorageLink(f.From)
	if a := t.Hosts[f.From]; a != nil {
		c.Proxy = a.Proxy
		c.RequiredBps, c.UsedBytes = applianceLoad(t, a, !c.Upload)
	}
	if c.BlobURL == "" && c.SkipReason == "" {
		c.SkipReason = "no test blob to measure with: give azure.bandwidth_test_url, the URL of a blob of some hundreds of MiB with a SAS (read for failback, write for forward)"
	}
	dir := "down"
	if c.Upload {
		dir = "up"
	}
	var out []Check
	for _, n := range t.Checks.Bandwidth.Streams {
		cc := c
		cc.Streams = n
		cc.ID = fmt.Sprintf("blob/%s/%s/%s/%d", f.From, f.To, dir, n)
		cc.AdviceOnly = n < slices.Max(t.Checks.Bandwidth.Streams)
		out = append(out, cc)
	}
	return out
}

// applianceLoad is the rate the churn of the VMs appliance a serves needs (growth included),
// failing back (in Azure) or replicating forward (on premises), and the bytes a full resync
// of the failing-back ones sends.
func applianceLoad(t *topology.Topology, a *topology.Host, failback bool) (capacity.BitsPerSecond, capacity.Bytes) {
	var churn []capacity.BitsPerSecond
	var used capacity.Bytes
	for _, h := range t.Hosts {
		if !h.HasRole(topology.RoleProtectedVM) || !t.Modernized(h) || topology.ApplianceOf(t, h) != a {
			continue
		}
		inAzure := t.Sites[h.Site] != nil && t.Sites[h.Site].Kind == topology.SiteAzure
		if inAzure != failback {
			continue
		}
		for _, d := range h.Disks {
			churn = append(churn, capacity.BitsPerSecond(d.Churn))
			used += capacity.Bytes(d.Size)
		}
	}
	req, err := capacity.Required(churn, capacity.Plan{Growth: t.Settings.Growth})
	if err != nil {
		return 0, used
	}
	return req, used
}

func (st *runState) blob(ctx context.Context, p Prober, c Check) result.Result {
	req := probes.BlobRequest{URL: c.BlobURL, Upload: c.Upload, Streams: c.Streams, Duration: c.Duration, Warmup: blobWarmup, Proxy: c.Proxy}
	var m probes.BlobResult
	err := st.callProbe(ctx, p, c.FromAgent, agent.KindBlob, blobWarmup+c.Duration+2*c.Timeout, req, &m)
	if err != nil {
		return JudgeBlobError(ctx, c, err)
	}
	return JudgeBlob(c, m)
}

// JudgeBlob judges a blob transfer like a bandwidth test: headroom below 1 misses the RPO,
// below 1.2 is tight. Failed requests in the middle are a warning of their own.
func JudgeBlob(c Check, m probes.BlobResult) result.Result {
	r := base(c)
	r.Target = m.Host
	mbps := m.BitsPerSecond / 1e6
	what := "download from"
	if c.Upload {
		what = "upload to"
	}
	r.Metrics = result.Metrics{result.MetricMbps: round2(mbps), result.MetricStreams: m.Streams, result.MetricDirection: map[bool]string{false: "down", true: "up"}[c.Upload],
		result.MetricRequests: m.Requests, result.MetricFailedReqs: m.Failed, result.MetricBytes: m.Bytes}
	r.Intervals = m.Intervals
	r.Message = fmt.Sprintf("%s: %.1f Mbit/s %s %s with %d stream(s)", c.From, mbps, what, m.Host, m.Streams)
	r.Status = result.Pass
	if c.UsedBytes > 0 && m.BitsPerSecond > 0 && !c.Upload {
		if rs, err := capacity.ResyncTime(capacity.Alternate, []capacity.ResyncDisk{{Used: capacity.Bytes(c.UsedBytes)}}, capacity.BitsPerSecond(m.BitsPerSecond)); err == nil {
			r.Metrics[result.MetricResyncHours] = round2(rs.Hours)
		}
	}
	if m.Failed > 0 {
		r.Status = result.Warn
		r.Message += fmt.Sprintf("; %d of %d requests failed (%s)", m.Failed, m.Requests, m.Detail)
		r.Hint = "Requests to Azure Storage fail now and then: a proxy or firewall that cuts long transfers, or throttling; the rate may be lower at cutover."
	}
	if c.RequiredBps <= 0 {
		return r
	}
	head := capacity.Headroom(capacity.BitsPerSecond(m.BitsPerSecond), capacity.BitsPerSecond(c.RequiredBps))
	r.Metrics[result.MetricRequiredMbps] = round2(float64(c.RequiredBps) / 1e6)
	r.Metrics[result.MetricHeadroom] = floor2(head)
	r.Message += fmt.Sprintf("; the VMs' churn needs %.1f Mbit/s (headroom %.2f)", c.RequiredBps/1e6, floor2(head))
	if c.AdviceOnly {
		r.Message += "; shown as advice: the test with the most streams is the one judged"
		return r
	}
	switch capacity.Judge(head) {
	case capacity.Short:
		r.Status = result.Fail
		r.Hint = fmt.Sprintf("%s cannot move the VMs' churn to or from Azure Storage: the 15-minute RPO will be missed. Raise the appliance's internet or ExpressRoute bandwidth above %.0f Mbit/s (or its proxy's), or spread the VMs over more appliances.", c.From, c.RequiredBps*1.2/1e6)
	case capacity.Tight:
		if r.Status == result.Pass {
			r.Status = result.Warn
			r.Hint = "Less than 20 % headroom: bursts of churn or other traffic at cutover time will delay replication."
		}
	}
	return r
}

// JudgeBlobError: a refused SAS, a missing blob or an agent problem is netprobe's own (error,
// with what to fix); a storage endpoint the network does not let through is a fail.
func JudgeBlobError(ctx context.Context, c Check, err error) result.Result {
	switch {
	case controlFailure(ctx, err):
		return Errored(c, err, agentHint(c, err))
	case errors.Is(err, probes.ErrPermission), errors.Is(err, probes.ErrInvalid), errors.Is(err, probes.ErrUnsupported):
		return Errored(c, err, "Fix azure.bandwidth_test_url: a blob of some hundreds of MiB and a SAS that allows reading it (and writing, for the forward test) and has not expired.")
	}
	r := base(c)
	r.Status = result.Fail
	r.Target = hostOnly(c.Address)
	r.Message = fmt.Sprintf("%s cannot reach Azure Storage (%s): %v", c.From, c.Address, err)
	r.Hint = fmt.Sprintf("Allow outbound https from %s to %s, directly or through the appliance's proxy: modernized failback downloads its data from there.", c.From, c.Address)
	return r
}
