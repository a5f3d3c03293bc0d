package firewall

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Bicep writes in's NSGs as a Bicep file: the same resources as the ARM template of NSG, for
// `az deployment group create --template-file nsg.bicep`.
func Bicep(w io.Writer, in Input) error {
	nsgs, notes, err := nsgPlan(in)
	if err != nil {
		return err
	}
	var b strings.Builder
	header(&b, "//", in.Topology,
		"Deploy:  az deployment group create -g RESOURCE-GROUP --template-file THIS-FILE",
		"Each NSG is declared whole: deploying it under the name of an NSG that exists replaces all of that NSG's rules.")
	for _, n := range notes {
		fmt.Fprintf(&b, "// note: %s\n", n)
	}
	b.WriteString("\n@description('Region of the NSGs: the resource group\\'s by default.')\n")
	b.WriteString("param location string = resourceGroup().location\n")
	for _, n := range nsgs {
		fmt.Fprintf(&b, "\n// %s %s: %s\n", n.site, n.prefix, summary(n.hosts, 8))
		fmt.Fprintf(&b, "resource %s '%s@%s' = {\n", n.symbol, nsgType, nsgAPIVersion)
		fmt.Fprintf(&b, "  name: %s\n  location: location\n  tags: {\n", bicepString(n.name))
		tags := nsgTags(n)
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			fmt.Fprintf(&b, "    %s: %s\n", bicepString(k), bicepString(tags[k]))
		}
		b.WriteString("  }\n  properties: {\n    securityRules: [\n")
		for _, r := range n.rules {
			f := r.armFields()
			fmt.Fprintf(&b, "      {\n        name: %s\n        properties: {\n", bicepString(r.name))
			bicepField(&b, "description", f.Description)
			bicepField(&b, "protocol", f.Protocol)
			bicepField(&b, "sourcePortRange", f.SourcePortRange)
			bicepPair(&b, "sourceAddressPrefix", f.SourceAddressPrefix, f.SourceAddressPrefixes)
			bicepPair(&b, "destinationAddressPrefix", f.DestinationAddressPrefix, f.DestinationAddressPrefixes)
			bicepPair(&b, "destinationPortRange", f.DestinationPortRange, f.DestinationPortRanges)
			bicepField(&b, "access", f.Access)
			fmt.Fprintf(&b, "          priority: %d\n", f.Priority)
			bicepField(&b, "direction", f.Direction)
			b.WriteString("        }\n      }\n")
		}
		b.WriteString("    ]\n  }\n}\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

func bicepField(b *strings.Builder, name, v string) {
	fmt.Fprintf(b, "          %s: %s\n", name, bicepString(v))
}

// bicepPair writes the singular field, or the plural one (name + "es" or "s") as a list.
func bicepPair(b *strings.Builder, name, one string, many []string) {
	if many == nil {
		bicepField(b, name, one)
		return
	}
	plural := name + "s"
	if strings.HasSuffix(name, "Prefix") {
		plural = name + "es"
	}
	fmt.Fprintf(b, "          %s: [\n", plural)
	for _, v := range many {
		fmt.Fprintf(b, "            %s\n", bicepString(v))
	}
	b.WriteString("          ]\n")
}

// bicepString quotes s as a Bicep string literal: single quotes, with \, ' and ${ escaped.
func bicepString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "${", `\${`, "\n", `\n`).Replace(s) + "'"
}

// symbol makes an identifier for Bicep and Terraform from a name: letters, digits and '_'.
func symbol(prefix, name string) string {
	return prefix + "_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.TrimPrefix(name, "netprobe-"))
}
