package firewall

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Terraform writes in's NSGs as Terraform azurerm resources: an azurerm_network_security_group
// per NSG and an azurerm_network_security_rule per rule (rules as their own resources, so
// that a plan shows each one, and rules of an NSG managed elsewhere can be kept by dropping
// the NSG resource and naming that NSG instead).
func Terraform(w io.Writer, in Input) error {
	nsgs, notes, err := nsgPlan(in)
	if err != nil {
		return err
	}
	var b strings.Builder
	header(&b, "#", in.Topology,
		"Apply:  terraform init && terraform apply -var resource_group_name=RG -var location=REGION",
		"Needs the azurerm provider (hashicorp/azurerm); the rules are azurerm_network_security_rule resources.")
	for _, n := range notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	b.WriteString(`
variable "resource_group_name" {
  type        = string
  description = "Resource group of the NSGs"
}

variable "location" {
  type        = string
  description = "Region of the NSGs"
}
`)
	for _, n := range nsgs {
		id := n.symbol
		fmt.Fprintf(&b, "\n# %s %s: %s\n", n.site, n.prefix, summary(n.hosts, 8))
		fmt.Fprintf(&b, "resource \"azurerm_network_security_group\" %s {\n", hclString(id))
		hclAttrs(&b, "  ", [][2]string{{"name", hclString(n.name)}, {"location", "var.location"}, {"resource_group_name", "var.resource_group_name"}})
		b.WriteString("\n  tags = {\n")
		tags := nsgTags(n)
		var kv [][2]string
		for _, k := range slices.Sorted(maps.Keys(tags)) {
			kv = append(kv, [2]string{hclString(k), hclString(tags[k])})
		}
		hclAttrs(&b, "    ", kv)
		b.WriteString("  }\n}\n")
		for _, r := range n.rules {
			f := r.armFields()
			fmt.Fprintf(&b, "\nresource \"azurerm_network_security_rule\" %s {\n", hclString(fmt.Sprintf("%s_%d", id, r.priority)))
			hclAttrs(&b, "  ", [][2]string{
				{"name", hclString(r.name)},
				{"description", hclString(f.Description)},
				{"priority", strconv.Itoa(f.Priority)},
				{"direction", hclString(f.Direction)},
				{"access", hclString(f.Access)},
				{"protocol", hclString(f.Protocol)},
				{"source_port_range", hclString(f.SourcePortRange)},
				hclPair("source_address_prefix", f.SourceAddressPrefix, f.SourceAddressPrefixes),
				hclPair("destination_address_prefix", f.DestinationAddressPrefix, f.DestinationAddressPrefixes),
				hclPair("destination_port_range", f.DestinationPortRange, f.DestinationPortRanges),
				{"resource_group_name", "var.resource_group_name"},
				{"network_security_group_name", "azurerm_network_security_group." + id + ".name"},
			})
			b.WriteString("}\n")
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// hclAttrs writes name = value lines with the equals signs aligned, as terraform fmt does.
func hclAttrs(b *strings.Builder, indent string, attrs [][2]string) {
	w := 0
	for _, a := range attrs {
		w = max(w, len(a[0]))
	}
	for _, a := range attrs {
		fmt.Fprintf(b, "%s%-*s = %s\n", indent, w, a[0], a[1])
	}
}

// hclPair is the singular argument, or the plural one (name + "es" or "s") as a list.
func hclPair(name, one string, many []string) [2]string {
	if many == nil {
		return [2]string{name, hclString(one)}
	}
	plural := name + "s"
	if strings.HasSuffix(name, "_prefix") {
		plural = name + "es"
	}
	quoted := make([]string, len(many))
	for i, v := range many {
		quoted[i] = hclString(v)
	}
	return [2]string{plural, "[" + strings.Join(quoted, ", ") + "]"}
}

// hclString quotes s as an HCL string: backslash, quote and the template sequences ${ and
// %{ escaped.
func hclString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{", "\n", `\n`).Replace(s) + `"`
}
