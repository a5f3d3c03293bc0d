package agent

import (
	"slices"
	"testing"
)

func TestWindowsSCSIKind(t *testing.T) {
	cases := []struct {
		name, service string
		want          SCSIKind
	}{
		{"LSI Logic SAS", "LSI_SAS", SCSILSI},
		{"LSI SAS3", "LSI_SAS3", SCSILSI},
		{"LSI Logic Parallel", "LSI_SCSI", SCSILSI},
		{"lower case from the SCM", "lsi_sas", SCSILSI},
		{"VMware Paravirtual", "pvscsi", SCSIParavirtual},
		{"Hyper-V storvsc", "storvsc", SCSIOther},
		{"none", "", SCSIUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := windowsSCSIKind(tc.service); got != tc.want {
				t.Errorf("windowsSCSIKind(%q) = %v, want %v", tc.service, got, tc.want)
			}
		})
	}
	// Every service the collector asks about must classify as a known controller.
	for _, s := range windowsSCSIServices {
		if k := windowsSCSIKind(s); k != SCSILSI && k != SCSIParavirtual {
			t.Errorf("queried service %s classifies as %v", s, k)
		}
	}
}

func TestPickSCSI(t *testing.T) {
	cases := []struct {
		name    string
		drivers []string
		want    SCSIKind
	}{
		{"none", nil, SCSIUnknown},
		{"LSI only", []string{"LSI_SAS"}, SCSILSI},
		{"other then paravirtual", []string{"storahci", "pvscsi"}, SCSIParavirtual},
		{"LSI before paravirtual keeps the first", []string{"LSI_SAS", "pvscsi"}, SCSILSI},
		{"other only", []string{"storahci"}, SCSIOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickSCSI(tc.drivers, windowsSCSIKind); got != tc.want {
				t.Errorf("pickSCSI(%q) = %v, want %v", tc.drivers, got, tc.want)
			}
		})
	}
}

func TestWindowsVolumeRoot(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"drive", "R:", `R:\`, true},
		{"drive root", `R:\`, `R:\`, true},
		{"slash root", "R:/", `R:\`, true},
		{"directory", `D:\retention`, "", false},
		{"unc", `\\srv\share`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := windowsVolumeRoot(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("windowsVolumeRoot(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestSortedUnique(t *testing.T) {
	got := sortedUnique([]string{"pvscsi", "LSI_SAS", "storahci", "lsi_sas", "pvscsi"})
	want := []string{"LSI_SAS", "pvscsi", "storahci"}
	if !slices.Equal(got, want) {
		t.Errorf("sortedUnique = %q, want %q", got, want)
	}
}
