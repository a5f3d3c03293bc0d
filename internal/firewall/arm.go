package firewall

import (
	"encoding/json"
	"fmt"
	"io"
)

// ARM template facts (learn.microsoft.com/azure/azure-resource-manager/templates/syntax and
// the Microsoft.Network/networkSecurityGroups reference).
const (
	armSchema         = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
	armContentVersion = "1.0.0.0"
	nsgType           = "Microsoft.Network/networkSecurityGroups"
	nsgAPIVersion     = "2023-11-01"
)

// ARMTemplate is what --format nsg writes: a template `az deployment group create` deploys,
// one NSG resource per Azure subnet or site network, its rules inline.
type ARMTemplate struct {
	Schema         string              `json:"$schema"`
	ContentVersion string              `json:"contentVersion"`
	Metadata       ARMMetadata         `json:"metadata"`
	Parameters     map[string]ARMParam `json:"parameters"`
	Resources      []ARMNSG            `json:"resources"`
}

// ARMMetadata says where the template comes from; ARM ignores it.
type ARMMetadata struct {
	Generator string   `json:"generator"`
	Topology  string   `json:"topology"`
	Source    string   `json:"source"`
	Deploy    string   `json:"deploy"`
	Notes     []string `json:"notes,omitempty"`
}

// ARMParam is a template parameter.
type ARMParam struct {
	Type         string            `json:"type"`
	DefaultValue string            `json:"defaultValue"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// ARMNSG is one networkSecurityGroups resource.
type ARMNSG struct {
	Type       string            `json:"type"`
	APIVersion string            `json:"apiVersion"`
	Name       string            `json:"name"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties ARMNSGProperties  `json:"properties"`
}

// ARMNSGProperties holds the NSG's rules.
type ARMNSGProperties struct {
	SecurityRules []SecurityRule `json:"securityRules"`
}

// SecurityRule is an NSG security rule in the ARM shape.
type SecurityRule struct {
	Name       string             `json:"name"`
	Properties SecurityRuleFields `json:"properties"`
}

// SecurityRuleFields are a rule's properties. Azure takes a field in its singular form (one
// value) or its plural form (a list), never both: exactly one of each pair is set.
type SecurityRuleFields struct {
	Description                string   `json:"description"`
	Protocol                   string   `json:"protocol"`
	SourcePortRange            string   `json:"sourcePortRange"`
	SourceAddressPrefix        string   `json:"sourceAddressPrefix,omitempty"`
	SourceAddressPrefixes      []string `json:"sourceAddressPrefixes,omitempty"`
	DestinationAddressPrefix   string   `json:"destinationAddressPrefix,omitempty"`
	DestinationAddressPrefixes []string `json:"destinationAddressPrefixes,omitempty"`
	DestinationPortRange       string   `json:"destinationPortRange,omitempty"`
	DestinationPortRanges      []string `json:"destinationPortRanges,omitempty"`
	Access                     string   `json:"access"`
	Priority                   int      `json:"priority"`
	Direction                  string   `json:"direction"`
}

// NSG writes the ARM template of in's NSGs, or an error (ErrNSGLimit) when one does not fit
// Azure's limits.
func NSG(w io.Writer, in Input) error {
	nsgs, notes, err := nsgPlan(in)
	if err != nil {
		return err
	}
	doc := ARMTemplate{
		Schema: armSchema, ContentVersion: armContentVersion,
		Metadata: ARMMetadata{
			Generator: "netprobe", Topology: in.Topology.Name, Source: in.Topology.File,
			Deploy: "az deployment group create -g RESOURCE-GROUP --template-file THIS-FILE (creates the NSGs, or replaces all rules of NSGs of these names; see docs/flows.md)",
			Notes:  notes,
		},
		Parameters: map[string]ARMParam{"location": {Type: "string", DefaultValue: "[resourceGroup().location]",
			Metadata: map[string]string{"description": "Region of the NSGs: the resource group's by default."}}},
		Resources: []ARMNSG{},
	}
	for _, n := range nsgs {
		res := ARMNSG{Type: nsgType, APIVersion: nsgAPIVersion, Name: n.name, Location: "[parameters('location')]",
			Tags: nsgTags(n), Properties: ARMNSGProperties{SecurityRules: []SecurityRule{}}}
		for _, r := range n.rules {
			res.Properties.SecurityRules = append(res.Properties.SecurityRules, SecurityRule{Name: r.name, Properties: r.armFields()})
		}
		doc.Resources = append(doc.Resources, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "->" in descriptions stays readable
	return enc.Encode(doc)
}

func (r nsgRule) armFields() SecurityRuleFields {
	f := SecurityRuleFields{Description: r.description, Protocol: r.protocol, SourcePortRange: "*",
		Access: "Allow", Priority: r.priority, Direction: r.direction}
	f.SourceAddressPrefix, f.SourceAddressPrefixes = oneOrMany(r.sources)
	f.DestinationAddressPrefix, f.DestinationAddressPrefixes = oneOrMany(r.dests)
	f.DestinationPortRange, f.DestinationPortRanges = oneOrMany(r.ports)
	return f
}

// oneOrMany fills the singular field for one value, the plural one for several.
func oneOrMany(vs []string) (string, []string) {
	if len(vs) == 1 {
		return vs[0], nil
	}
	return "", vs
}

// nsgTags say on each NSG what netprobe made it for; Azure shows them in the portal.
func nsgTags(n *nsg) map[string]string {
	return map[string]string{
		"generated-by":   "netprobe",
		"netprobe-scope": clip(fmt.Sprintf("%s %s: %s", n.site, n.prefix, summary(n.hosts, 4)), 256),
	}
}
