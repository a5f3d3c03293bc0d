// netprobe: firewall rules for the ASR flows of fabrikam-modernized (generated from ../../topologies/modernized.yaml)
// Deploy:  az deployment group create -g RESOURCE-GROUP --template-file THIS-FILE
// Each NSG is declared whole: deploying it under the name of an NSG that exists replaces all of that NSG's rules.
// note: Modernized failback needs no inbound connection and no private path from Azure to on-premises: the failed-over VMs write to a log storage account in Azure and the replication appliance downloads it over outbound 443; do not open the data port (9443) across the WAN for it (https://learn.microsoft.com/azure/site-recovery/classic-to-modernized-common-questions, https://learn.microsoft.com/azure/site-recovery/failover-failback-overview-modernized)
// note: ASR service endpoints are DNS names: allow them with FQDN rules (or the AzureCloud service tag / published IP ranges): web01 -> aka.ms 443/tcp, web01 -> *.backup.windowsazure.com 443/tcp, web01 -> *.discoverysrv.windowsazure.com 443/tcp, web01 -> download.microsoft.com 443/tcp, web01 -> fabrikam-asr-kv.vault.azure.net 443/tcp, web01 -> *.hypervrecoverymanager.windowsazure.com 443/tcp, web01 -> *.live.com 443/tcp, web01 -> login.microsoftonline.com 443/tcp, web01 -> *.windows.net 443/tcp, web01 -> management.azure.com 443/tcp, web01 -> *.msauth.net 443/tcp, web01 -> *.msftauth.net 443/tcp, web01 -> portal.azure.com 443/tcp, web01 -> *.prod.migration.windowsazure.com 443/tcp, web01 -> *.servicebus.windows.net 443/tcp, web01 -> *.services.visualstudio.com 443/tcp, web01 -> *.microsoft.com 443/tcp, web01 -> *.office.com 443/tcp, web02 -> aka.ms 443/tcp, web02 -> *.backup.windowsazure.com 443/tcp, web02 -> *.discoverysrv.windowsazure.com 443/tcp, web02 -> download.microsoft.com 443/tcp, web02 -> fabrikam-asr-kv.vault.azure.net 443/tcp, web02 -> *.hypervrecoverymanager.windowsazure.com 443/tcp, web02 -> *.live.com 443/tcp, web02 -> login.microsoftonline.com 443/tcp, web02 -> *.windows.net 443/tcp, web02 -> management.azure.com 443/tcp, web02 -> *.msauth.net 443/tcp, web02 -> *.msftauth.net 443/tcp, web02 -> portal.azure.com 443/tcp, web02 -> *.prod.migration.windowsazure.com 443/tcp, web02 -> *.servicebus.windows.net 443/tcp, web02 -> *.services.visualstudio.com 443/tcp, web02 -> *.microsoft.com 443/tcp, web02 -> *.office.com 443/tcp, web01 -> fabrikamasrlog01.blob.core.windows.net 443/tcp, web02 -> fabrikamasrlog01.blob.core.windows.net 443/tcp, asr-appliance -> aka.ms 443/tcp, asr-appliance -> *.backup.windowsazure.com 443/tcp, asr-appliance -> developer.microsoft.com 443/tcp, asr-appliance -> *.discoverysrv.windowsazure.com 443/tcp, asr-appliance -> download.microsoft.com 443/tcp, asr-appliance -> *.events.data.microsoft.com 443/tcp, asr-appliance -> fabrikam-asr-kv.vault.azure.net 443/tcp, asr-appliance -> graph.microsoft.com 443/tcp, asr-appliance -> graph.windows.net 443/tcp, asr-appliance -> *.hypervrecoverymanager.windowsazure.com 443/tcp, asr-appliance -> *.live.com 443/tcp, asr-appliance -> login.microsoftonline.com 443/tcp, asr-appliance -> login.windows.net 443/tcp, asr-appliance -> m365.cloud.microsoft.com 443/tcp, asr-appliance -> management.azure.com 443/tcp, asr-appliance -> *.msauth.net 443/tcp, asr-appliance -> *.msftauth.net 443/tcp, asr-appliance -> portal.azure.com 443/tcp, asr-appliance -> *.prod.migration.windowsazure.com 443/tcp, asr-appliance -> *.servicebus.windows.net 443/tcp, asr-appliance -> *.services.visualstudio.com 443/tcp, asr-appliance -> *.siterecovery.windowsazure.com 443/tcp, asr-appliance -> *.office.com 443/tcp, asr-appliance -> fabrikamasrlog01.blob.core.windows.net 443/tcp, asr-appliance -> fabrikamasrcache01.blob.core.windows.net 443/tcp
// note: NP-CTRL: the agents' control port (tcp 7411 unless an agent names its own) must be reachable from where netprobe check runs: give --coordinator HOST|IP to write these rules

@description('Region of the NSGs: the resource group\'s by default.')
param location string = resourceGroup().location

// azure 10.40.0.0/16: web01, web02
resource nsg_azure_10_40_0_0_16 'Microsoft.Network/networkSecurityGroups@2023-11-01' = {
  name: 'netprobe-azure-10.40.0.0-16'
  location: location
  tags: {
    'generated-by': 'netprobe'
    'netprobe-scope': 'azure 10.40.0.0/16: web01, web02'
  }
  properties: {
    securityRules: [
      {
        name: 'netprobe-1000-in-tcp20004-MFB-GROUP'
        properties: {
          description: 'MFB-GROUP web01, web02 -> web02, web01'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.40.2.10/31'
          destinationAddressPrefix: '10.40.2.10/31'
          destinationPortRange: '20004'
          access: 'Allow'
          priority: 1000
          direction: 'Inbound'
        }
      }
      {
        name: 'netprobe-1001-out-tcp20004-MFB-GROUP'
        properties: {
          description: 'MFB-GROUP web01, web02 -> web02, web01'
          protocol: 'Tcp'
          sourcePortRange: '*'
          sourceAddressPrefix: '10.40.2.10/31'
          destinationAddressPrefix: '10.40.2.10/31'
          destinationPortRange: '20004'
          access: 'Allow'
          priority: 1001
          direction: 'Outbound'
        }
      }
    ]
  }
}
