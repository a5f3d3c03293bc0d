package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFlowsGolden(t *testing.T) {
	type golden struct {
		name, file, format string
		args               []string
	}
	var cases []golden
	for _, format := range flowFormats {
		cases = append(cases, golden{"normative", normativeFile, format, []string{"--coordinator", "cs01"}})
	}
	// The modernized and migration examples in every format.
	for _, name := range []string{"modernized", "migration"} {
		for _, format := range flowFormats {
			cases = append(cases, golden{name, "../../topologies/" + name + ".yaml", format, nil})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.format, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"flows", "-f", tc.file, "--format", tc.format}, tc.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			path := filepath.Join("testdata", "flows", tc.name+"."+tc.format)
			if updateGolden() {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if diff := cmp.Diff(string(want), out); diff != "" {
				t.Errorf("%s (-want +got; go test -update rewrites it):\n%s", path, diff)
			}
		})
	}
}

func TestFlowsFormats(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     ExitCode
		contains string
		absent   string
	}{
		{"json", []string{"--format", "json"}, ExitOK, `"schema": "netprobe/flows/v1"`, ""},
		{"nsg", []string{"--format", "nsg"}, ExitOK, `"securityRules"`, ""},
		{"powershell", []string{"--format", "powershell"}, ExitOK, "-DisplayName 'netprobe FB-VM-CS", ""},
		{"no coordinator: a note says what is missing", []string{"--format", "iptables"}, ExitOK, "give --coordinator HOST|IP", "NP-CTRL cs01"},
		{"an IP coordinator", []string{"--format", "iptables", "--coordinator", "10.10.0.99"}, ExitOK, `-A NETPROBE-AGENT -s 10.10.0.99/32 -d 10.20.1.4/32 -p tcp -m tcp --dport 7411 -m comment --comment "NP-CTRL coordinator->ps-az"`, ""},
		{"--no-agent-rules", []string{"--format", "iptables", "--coordinator", "cs01", "--no-agent-rules"}, ExitOK, "NETPROBE-ASR", "NETPROBE-AGENT"},
		{"unknown coordinator", []string{"--coordinator", "nohost"}, ExitUsage, `"nohost" is neither a host`, ""},
		{"priority out of range", []string{"--format", "nsg", "--nsg-priority", "4097"}, ExitUsage, "outside Azure's 100..4096", ""},
		{"--phase forward drops the failback catalogue, keeps the file's flows", []string{"--phase", "forward"}, ExitOK, "USER-1", "FB-VM-CS"},
		{"--phase both adds the forward catalogue", []string{"--phase", "both"}, ExitOK, "FW-CS-AZ", ""},
		{"unknown format", []string{"--format", "yaml"}, ExitUsage, `unknown --format "yaml"`, ""},
		{"unknown phase", []string{"--phase", "sideways"}, ExitUsage, `unknown --phase "sideways"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"flows", "-f", normativeFile}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			if !strings.Contains(out+stderr, tc.contains) {
				t.Errorf("output lacks %q:\n%s%s", tc.contains, out, stderr)
			}
			if tc.absent != "" && strings.Contains(out, tc.absent) {
				t.Errorf("output has %q:\n%s", tc.absent, out)
			}
		})
	}
	for _, tc := range []struct {
		args     []string
		asr, own int
	}{
		{nil, 26, 16},
		{[]string{"--coordinator", "cs01"}, 26, 19},
		{[]string{"--coordinator", "cs01", "--no-agent-rules"}, 26, 0},
	} {
		code, out, _ := runCLI(t, append([]string{"flows", "-f", normativeFile, "--format", "json"}, tc.args...)...)
		var doc struct {
			Flows []struct{ Rule, Phase, Kind, From, To string }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitOK || len(doc.Flows) == 0 {
			t.Fatalf("json %v: exit %d, %d flows, err %v", tc.args, code, len(doc.Flows), err)
		}
		asr, own := 0, 0
		for _, f := range doc.Flows {
			if strings.HasPrefix(f.Rule, "NP-") {
				own++
			} else {
				asr++
			}
		}
		if asr != tc.asr || own != tc.own {
			t.Errorf("json %v: %d ASR and %d own flows, want %d and %d", tc.args, asr, own, tc.asr, tc.own)
		}
		if doc.Flows[0].Rule != "FB-VM-CS" || doc.Flows[0].Phase != "failback" || doc.Flows[0].Kind != "port" {
			t.Errorf("first flow = %+v", doc.Flows[0])
		}
		// The data leg between the Azure process server and cs01, the configuration server
		// whose built-in Windows master target sql01 fails back to, both ways.
		leg := map[string]bool{}
		for _, f := range doc.Flows {
			if (f.Rule == "FB-PS-MT" || f.Rule == "FB-MT-PS") && (f.From == "cs01" || f.To == "cs01") {
				leg[f.Rule+" "+f.From+"->"+f.To] = true
			}
		}
		if !leg["FB-PS-MT ps-az->cs01"] || !leg["FB-MT-PS cs01->ps-az"] {
			t.Errorf("json %v lacks the data leg ps-az <-> cs01: %v", tc.args, leg)
		}
	}
	// Errors of an invalid file go to stderr, never into a stream meant for iptables-restore.
	code, out, stderr := runCLI(t, "flows", "-f", "../../internal/topology/testdata/invalid/three-mistakes.yaml", "--format", "iptables")
	if code != ExitUsage || out != "" || !strings.Contains(stderr, "3 errors") {
		t.Errorf("invalid file: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
