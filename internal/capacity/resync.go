package capacity

import (
	"fmt"
	"math"
	"time"
)

// Target is where a failback goes, which decides what a resync sends.
type Target int

const (
	// Original location: the on-premises VM still exists, so only changed blocks are sent.
	Original Target = iota + 1
	// Alternate location: a new VM, so every used byte of every disk is sent.
	Alternate
)

var targetNames = [...]string{Original: "original", Alternate: "alternate"}

func (t Target) String() string {
	if t <= 0 || int(t) >= len(targetNames) {
		return fmt.Sprintf("target(%d)", int(t))
	}
	return targetNames[t]
}

// DisksAtOnce is the process server's rule that a VM's resync works on three disks at a time.
// Over a bandwidth-bound link it does not change the total (the link is the limit), but a VM
// with one large disk among small ones finishes later than the total suggests, so reports show
// the rule as a note beside the figure.
const DisksAtOnce = 3

// ResyncDisk is one disk as a resync sees it.
type ResyncDisk struct {
	// Used is the bytes in use on the disk (sent in full to an alternate location).
	Used Bytes `json:"used_bytes"`
	// Changed is the bytes changed since the failover (sent to the original location).
	Changed Bytes `json:"changed_bytes"`
}

// Resync is the estimate of a failback resync.
type Resync struct {
	Target Target `json:"target"`
	// Bytes is what must cross the link.
	Bytes Bytes `json:"bytes"`
	// Time is bytes * 8 / measured.
	Time time.Duration `json:"time_ns"`
	// Hours is Time in hours, the unit of the results' resync_hours metric.
	Hours float64 `json:"hours"`
	// Waves is how many rounds of DisksAtOnce disks the process server works through.
	Waves int `json:"waves"`
	// Note explains the three-disks-at-a-time rule in the user's terms.
	Note string `json:"note"`
}

// ResyncTime estimates a resync over a link that carries measured:
// hours = bytes * 8 / measured / 3600, where bytes are the changed bytes (Original) or all used
// bytes (Alternate).
func ResyncTime(target Target, disks []ResyncDisk, measured BitsPerSecond) (Resync, error) {
	if target != Original && target != Alternate {
		return Resync{}, fmt.Errorf("%w: resync target %v is unset; say original or alternate location", ErrInput, target)
	}
	if measured <= 0 || math.IsNaN(float64(measured)) {
		return Resync{}, fmt.Errorf("%w: measured bandwidth %v must be > 0; measure the link first", ErrInput, float64(measured))
	}
	r := Resync{Target: target}
	for i, d := range disks {
		if d.Used < 0 || d.Changed < 0 {
			return Resync{}, fmt.Errorf("%w: disk #%d has negative sizes", ErrInput, i+1)
		}
		if target == Original {
			r.Bytes += d.Changed
		} else {
			r.Bytes += d.Used
		}
	}
	secs := r.Bytes.Bits() / float64(measured)
	r.Time = seconds(secs)
	r.Hours = secs / 3600
	r.Waves = (len(disks) + DisksAtOnce - 1) / DisksAtOnce
	r.Note = fmt.Sprintf("the process server resyncs %d disks of a VM at a time (%d disks: %d rounds); "+
		"the total is bound by the link, but a VM with one large disk finishes later than its share suggests",
		DisksAtOnce, len(disks), r.Waves)
	return r, nil
}
