// netprobe: firewall rules for the ASR flows of northwind-migration (generated from ../../topologies/migration.yaml)
// Deploy:  az deployment group create -g RESOURCE-GROUP --template-file THIS-FILE
// Each NSG is declared whole: deploying it under the name of an NSG that exists replaces all of that NSG's rules.
// note: Microsoft ended support for the classic architecture (configuration server, process server, master target) on 2026-03-30: VMs that failed over under it still fail back with it; new protection uses the modernized replication appliance (settings.architecture: modernized) (https://learn.microsoft.com/azure/site-recovery/how-to-move-from-classic-to-modernized-vmware-disaster-recovery)
// note: Modernized failback needs no inbound connection and no private path from Azure to on-premises: the failed-over VMs write to a log storage account in Azure and the replication appliance downloads it over outbound 443; do not open the data port (9443) across the WAN for it (https://learn.microsoft.com/azure/site-recovery/classic-to-modernized-common-questions, https://learn.microsoft.com/azure/site-recovery/failover-failback-overview-modernized)
// note: ASR service endpoints are DNS names: allow them with FQDN rules (or the AzureCloud service tag / published IP ranges): cs01 -> *.backup.windowsazure.com 443/tcp, cs01 -> *.hypervrecoverymanager.windowsazure.com 443/tcp, cs01 -> login.microsoftonline.com 443/tcp, cs01 -> northwindasrcache.blob.core.windows.net 443/tcp, cs01 -> *.servicebus.windows.net 443/tcp, cs01 -> time.nist.gov 123/udp, cs01 -> time.windows.com 123/udp, asr-appliance -> aka.ms 443/tcp, asr-appliance -> *.backup.windowsazure.com 443/tcp, asr-appliance -> developer.microsoft.com 443/tcp, asr-appliance -> *.discoverysrv.windowsazure.com 443/tcp, asr-appliance -> download.microsoft.com 443/tcp, asr-appliance -> *.events.data.microsoft.com 443/tcp, asr-appliance -> graph.microsoft.com 443/tcp, asr-appliance -> graph.windows.net 443/tcp, asr-appliance -> *.hypervrecoverymanager.windowsazure.com 443/tcp, asr-appliance -> *.live.com 443/tcp, asr-appliance -> login.microsoftonline.com 443/tcp, asr-appliance -> login.windows.net 443/tcp, asr-appliance -> m365.cloud.microsoft.com 443/tcp, asr-appliance -> management.azure.com 443/tcp, asr-appliance -> *.msauth.net 443/tcp, asr-appliance -> *.msftauth.net 443/tcp, asr-appliance -> portal.azure.com 443/tcp, asr-appliance -> *.prod.migration.windowsazure.com 443/tcp, asr-appliance -> *.servicebus.windows.net 443/tcp, asr-appliance -> *.services.visualstudio.com 443/tcp, asr-appliance -> *.siterecovery.windowsazure.com 443/tcp, asr-appliance -> *.vault.azure.net 443/tcp, asr-appliance -> *.office.com 443/tcp, asr-appliance -> northwindasrcache.blob.core.windows.net 443/tcp
// note: FB-PMTU: do not drop ICMP fragmentation-needed (type 3 code 4) toward the 3 hosts that send large packets (path MTU discovery needs it): 10.70.2.10 (app01), 10.60.0.4 (cs01), 10.70.1.4 (ps-az)
// note: 4 flows are measurements between agents (path, route, latency, bandwidth): netprobe's own rules (NP-*) below open what they send
// note: NP-CTRL: the agents' control port (tcp 7411 unless an agent names its own) must be reachable from where netprobe check runs: give --coordinator HOST|IP to write these rules

@description('Region of the NSGs: the resource group\'s by default.')
param location string = resourceGroup().location

// azure 10.70.0.0/16: app01, ps-az
resource nsg_azure_10_70_0_0_16 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: 'netprobe-azure-10.70.0.0-16'
  location: location
  tags: {
    'generated-by': 'netprobe'
    'netprobe-scope': 'azure 10.70.0.0/16: app01, ps-az'
  }
  properties: {
    securityRules: [
      {
        name: 'netprobe-1000-out-tcp443-FB-VM-CS'
        properties: {
          description: 'FB-VM-CS app01 -> cs01'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.70.2.10/32'
          destinationAddressPrefix: '10.60.0.4/32'
          destinationPortRange: '443'
          access: 'Allow'
          priority: 1000
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1001-out-icmp-FB-VM-CS-NP-PMTU-FB-PS-CS-NP-PATH'
        properties: {
          description: 'FB-VM-CS,NP-PMTU,FB-PS-CS,NP-PATH app01, ps-az -> cs01'
          protocol: 'Icmp'
          sourcePortRange: '*'
          sourceAddressPrefixes: [
            '10.70.1.4/32'
            '10.70.2.10/32'
          ]
          destinationAddressPrefix: '10.60.0.4/32'
          destinationPortRange: '*'
          access: 'Allow'
          priority: 1001
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1002-in-tcp9443-FB-VM-PS-FB-MT-PS-NP-BW'
        properties: {
          description: 'FB-VM-PS,FB-MT-PS,NP-BW app01, cs01 -> ps-az'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefixes: [
            '10.60.0.4/32'
            '10.70.2.10/32'
          ]
          destinationAddressPrefix: '10.70.1.4/32'
          destinationPortRange: '9443'
          access: 'Allow'
          priority: 1002
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1003-out-tcp9443-FB-VM-PS'
        properties: {
          description: 'FB-VM-PS app01 -> ps-az'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.70.2.10/32'
          destinationAddressPrefix: '10.70.1.4/32'
          destinationPortRange: '9443'
          access: 'Allow'
          priority: 1003
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1004-out-tcp443_9443-FB-PS-CS-FB-PS-MT-NP-BW'
        properties: {
          description: 'FB-PS-CS,FB-PS-MT,NP-BW ps-az -> cs01'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.70.1.4/32'
          destinationAddressPrefix: '10.60.0.4/32'
          destinationPortRanges: [
            '443'
            '9443'
          ]
          access: 'Allow'
          priority: 1004
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1005-out-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO app01, ps-az -> cs01'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefixes: [
            '10.70.1.4/32'
            '10.70.2.10/32'
          ]
          destinationAddressPrefix: '10.60.0.4/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1005
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1006-in-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO cs01, ps-az -> app01'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefixes: [
            '10.60.0.4/32'
            '10.70.1.4/32'
          ]
          destinationAddressPrefix: '10.70.2.10/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1006
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1007-in-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO cs01 -> ps-az'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.60.0.4/32'
          destinationAddressPrefix: '10.70.1.4/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1007
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1008-out-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO ps-az -> app01'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.70.1.4/32'
          destinationAddressPrefix: '10.70.2.10/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1008
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1009-in-icmp-NP-PMTU'
        properties: {
          description: 'netprobe\'s own: NP-PMTU cs01 -> app01, ps-az'
          protocol: 'Icmp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.60.0.4/32'
          destinationAddressPrefixes: [
            '10.70.1.4/32'
            '10.70.2.10/32'
          ]
          destinationPortRange: '*'
          access: 'Allow'
          priority: 1009
          direction: 'Inbound'
        }
      }
    ]
  }
}
