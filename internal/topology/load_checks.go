package topology

import "github.com/goccy/go-yaml/ast"

var checksKeys = []string{"latency", "bandwidth", "pmtu", "dns"}

func (d *decoder) checks(c *Checks, sec field) {
	for _, cf := range d.mapping(sec.val, sec.path, checksKeys) {
		switch cf.key {
		case "latency":
			for _, f := range d.mapping(cf.val, cf.path, []string{"samples", "interval", "warn_p95", "fail_p95"}) {
				switch f.key {
				case "samples":
					if v, ok := d.intRange(f, 1, 100000, "sample count"); ok {
						c.Latency.Samples = v
					}
				case "interval":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Latency.Interval = v
					}
				case "warn_p95":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Latency.WarnP95 = v
					}
				case "fail_p95":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Latency.FailP95 = v
					}
				}
			}
		case "bandwidth":
			for _, f := range d.mapping(cf.val, cf.path, []string{"duration", "streams", "directions"}) {
				switch f.key {
				case "duration":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Bandwidth.Duration = v
					}
				case "streams":
					var streams []int
					d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
						if v, ok := d.integer(item, item, p); ok {
							if v < 1 || v > 128 {
								d.errorf(item, p, "%d streams is out of range (1 to 128)", v)
								return
							}
							streams = append(streams, v)
						}
					})
					if len(streams) > 0 {
						c.Bandwidth.Streams = streams
					}
				case "directions":
					if v, ok := d.str(f); ok {
						if v != "up" && v != "down" && v != "both" {
							d.errorf(f.val, f.path, "unknown direction %q (use up, down or both)", v)
						}
						c.Bandwidth.Directions = v
					}
				}
			}
		case "pmtu":
			for _, f := range d.mapping(cf.val, cf.path, []string{"min", "max"}) {
				switch f.key {
				case "min":
					if v, ok := d.intRange(f, 576, 65535, "MTU"); ok {
						c.PMTU.Min = v
					}
				case "max":
					if v, ok := d.intRange(f, 576, 65535, "MTU"); ok {
						c.PMTU.Max = v
					}
				}
			}
		case "dns":
			for _, f := range d.mapping(cf.val, cf.path, []string{"names"}) {
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
					if v, ok := d.strItem(item, p); ok {
						if !validDNSName(v) {
							d.errorf(item, p, "%q is not a DNS name", v)
							return
						}
						c.DNS.Names = append(c.DNS.Names, v)
					}
				})
			}
		}
	}
}

var flowKeys = []string{"from", "to", "port", "proto", "expect", "phase", "note"}

func (d *decoder) flows(t *Topology, sec field) {
	d.seq(sec.val, sec.path, func(i int, item ast.Node, fp string) {
		fs := &FlowSpec{Index: i, Proto: ProtoTCP, Expect: defaultFlowExpect}
		t.Flows = append(t.Flows, fs)
		if item == nil {
			d.errorf(nil, fp, "empty flow: give from, to and port")
			return
		}
		has := map[string]bool{}
		for _, f := range d.mapping(item, fp, flowKeys) {
			has[f.key] = true
			switch f.key {
			case "from":
				fs.From, _ = d.str(f)
			case "to":
				fs.To, _ = d.str(f)
			case "port":
				if v, ok := d.intRange(f, 1, 65535, "port"); ok {
					fs.Port = v
				}
			case "note":
				fs.Note, _ = d.str(f)
			case "proto":
				if v, ok := d.enum(f, protoNames, "proto"); ok {
					fs.Proto = Proto(v)
				}
			case "expect":
				if v, ok := d.enum(f, expectNames, "expectation"); ok {
					fs.Expect = Expect(v)
				}
			case "phase":
				if v, ok := d.enum(f, phaseNames, "phase"); ok {
					fs.Phase = Phase(v)
				}
			}
		}
		for _, k := range []string{"from", "to"} {
			if !has[k] {
				d.errorf(item, fp, "%s is required", k)
			}
		}
		if fs.Proto == ProtoICMP && has["port"] {
			d.errorf(item, joinPath(fp, "port"), "icmp has no port; remove port or use proto tcp/udp")
		}
		if fs.Proto != ProtoICMP && !has["port"] {
			d.errorf(item, fp, "port is required for proto %s", fs.Proto)
		}
	})
}
