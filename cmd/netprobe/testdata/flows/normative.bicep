// netprobe: firewall rules for the ASR flows of contoso-failback (generated from ../../internal/topology/testdata/normative.yaml)
// Deploy:  az deployment group create -g RESOURCE-GROUP --template-file THIS-FILE
// Each NSG is declared whole: deploying it under the name of an NSG that exists replaces all of that NSG's rules.
// note: Microsoft ended support for the classic architecture (configuration server, process server, master target) on 2026-03-30: VMs that failed over under it still fail back with it; new protection uses the modernized replication appliance (settings.architecture: modernized) (https://learn.microsoft.com/azure/site-recovery/how-to-move-from-classic-to-modernized-vmware-disaster-recovery)
// note: USER-1: sql01 -> cs01 1433/tcp is expected blocked: no allow rule
// note: ASR service endpoints are DNS names: allow them with FQDN rules (or the AzureCloud service tag / published IP ranges): cs01 -> *.backup.windowsazure.com 443/tcp, cs01 -> *.blob.core.windows.net 443/tcp, cs01 -> *.hypervrecoverymanager.windowsazure.com 443/tcp, cs01 -> login.microsoftonline.com 443/tcp, cs01 -> *.servicebus.windows.net 443/tcp, cs01 -> time.nist.gov 123/udp, cs01 -> time.windows.com 123/udp
// note: FB-PMTU: do not drop ICMP fragmentation-needed (type 3 code 4) toward the 3 hosts that send large packets (path MTU discovery needs it): 192.168.50.4 (cs01), 10.20.1.4 (ps-az), 10.10.5.10 (sql01)
// note: 6 flows are measurements between agents (path, route, latency, bandwidth): netprobe's own rules (NP-*) below open what they send

@description('Region of the NSGs: the resource group\'s by default.')
param location string = resourceGroup().location

// azure 10.10.5.0/24: sql01
resource nsg_azure_10_10_5_0_24 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: 'netprobe-azure-10.10.5.0-24'
  location: location
  tags: {
    'generated-by': 'netprobe'
    'netprobe-scope': 'azure 10.10.5.0/24: sql01'
  }
  properties: {
    securityRules: [
      {
        name: 'netprobe-1000-out-tcp443-FB-VM-CS'
        properties: {
          description: 'FB-VM-CS sql01 -> cs01'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.10.5.10/32'
          destinationAddressPrefix: '192.168.50.4/32'
          destinationPortRange: '443'
          access: 'Allow'
          priority: 1000
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1001-out-icmp-FB-VM-CS-NP-PMTU'
        properties: {
          description: 'FB-VM-CS,NP-PMTU sql01 -> cs01'
          protocol: 'Icmp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.10.5.10/32'
          destinationAddressPrefix: '192.168.50.4/32'
          destinationPortRange: '*'
          access: 'Allow'
          priority: 1001
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1002-out-tcp9443-FB-VM-PS'
        properties: {
          description: 'FB-VM-PS sql01 -> ps-az'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.10.5.10/32'
          destinationAddressPrefix: '10.20.1.4/32'
          destinationPortRange: '9443'
          access: 'Allow'
          priority: 1002
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1003-in-tcp7411-NP-CTRL'
        properties: {
          description: 'netprobe\'s own: NP-CTRL cs01 -> sql01'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '192.168.50.4/32'
          destinationAddressPrefix: '10.10.5.10/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1003
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1004-in-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO cs01, ps-az -> sql01'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefixes: [
            '10.20.1.4/32'
            '192.168.50.4/32'
          ]
          destinationAddressPrefix: '10.10.5.10/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1004
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1005-out-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO sql01 -> cs01'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.10.5.10/32'
          destinationAddressPrefix: '192.168.50.4/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1005
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1006-in-icmp-NP-PMTU'
        properties: {
          description: 'netprobe\'s own: NP-PMTU cs01 -> sql01'
          protocol: 'Icmp'
          sourcePortRange: '*'
          sourceAddressPrefix: '192.168.50.4/32'
          destinationAddressPrefix: '10.10.5.10/32'
          destinationPortRange: '*'
          access: 'Allow'
          priority: 1006
          direction: 'Inbound'
        }
      }
    ]
  }
}

// azure 10.20.0.0/16: ps-az
resource nsg_azure_10_20_0_0_16 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: 'netprobe-azure-10.20.0.0-16'
  location: location
  tags: {
    'generated-by': 'netprobe'
    'netprobe-scope': 'azure 10.20.0.0/16: ps-az'
  }
  properties: {
    securityRules: [
      {
        name: 'netprobe-1000-in-tcp9443-FB-VM-PS'
        properties: {
          description: 'FB-VM-PS sql01 -> ps-az'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.10.5.10/32'
          destinationAddressPrefix: '10.20.1.4/32'
          destinationPortRange: '9443'
          access: 'Allow'
          priority: 1000
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1001-out-tcp443_9443-FB-PS-CS-FB-PS-MT-NP-BW'
        properties: {
          description: 'FB-PS-CS,FB-PS-MT,NP-BW ps-az -> cs01'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.20.1.4/32'
          destinationAddressPrefix: '192.168.50.4/32'
          destinationPortRanges: [
            '443'
            '9443'
          ]
          access: 'Allow'
          priority: 1001
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1002-out-icmp-FB-PS-CS-NP-PMTU-NP-PATH'
        properties: {
          description: 'FB-PS-CS,NP-PMTU,NP-PATH ps-az -> cs01'
          protocol: 'Icmp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.20.1.4/32'
          destinationAddressPrefix: '192.168.50.4/32'
          destinationPortRange: '*'
          access: 'Allow'
          priority: 1002
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1003-in-tcp7411_9443-FB-MT-PS-NP-BW-NP-CTRL'
        properties: {
          description: 'FB-MT-PS,NP-BW,NP-CTRL cs01 -> ps-az'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '192.168.50.4/32'
          destinationAddressPrefix: '10.20.1.4/32'
          destinationPortRanges: [
            '7411'
            '9443'
          ]
          access: 'Allow'
          priority: 1003
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1004-in-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO cs01 -> ps-az'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefix: '192.168.50.4/32'
          destinationAddressPrefix: '10.20.1.4/32'
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1004
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1005-out-udp7411-NP-ECHO'
        properties: {
          description: 'netprobe\'s own: NP-ECHO ps-az -> cs01, sql01'
          protocol: 'Udp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.20.1.4/32'
          destinationAddressPrefixes: [
            '10.10.5.10/32'
            '192.168.50.4/32'
          ]
          destinationPortRange: '7411'
          access: 'Allow'
          priority: 1005
          direction: 'Outbound'
        }
      }
      {
        name: 'netprobe-1006-in-icmp-NP-PMTU'
        properties: {
          description: 'netprobe\'s own: NP-PMTU cs01 -> ps-az'
          protocol: 'Icmp'
          sourcePortRange: '*'
          sourceAddressPrefix: '192.168.50.4/32'
          destinationAddressPrefix: '10.20.1.4/32'
          destinationPortRange: '*'
          access: 'Allow'
          priority: 1006
          direction: 'Inbound'
        }
      }
    ]
  }
}
