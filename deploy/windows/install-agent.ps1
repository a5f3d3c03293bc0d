# Install the netprobe agent as a Windows service. Run from an elevated PowerShell (5.1 or 7)
# in the unpacked release folder. See docs/install.md for what each step is for. Safe to run
# again: the service is reinstalled, the firewall rules replaced, the token and the agent's
# certificate kept.
#
#   Get-ChildItem -Recurse | Unblock-File          # once: the files came from the internet
#   powershell -ExecutionPolicy Bypass -File .\deploy\windows\install-agent.ps1 `
#       -Coordinator 10.20.0.10 -TokenFile .\token -Allow 10.20.0.0/16,192.168.50.0/24 -Peers 10.20.1.4
#
# -Coordinator: where netprobe check runs (one or more addresses); only it may reach the
#   control port.
# -TokenFile: the token the coordinator uses. Without it, an existing
#   C:\ProgramData\netprobe\token is kept, or a new one is made (copy it to the coordinator).
# -Peers: the agents that measure this host (netprobe flows lists them: NP-ECHO, NP-PMTU,
#   NP-PATH); they may send its UDP echo on the control port number and ICMP echo. The
#   complete rules, the flows' own ports included, come from
#   netprobe flows -f estate.yaml --coordinator HOST --format powershell.
param(
    [Parameter(Mandatory = $true)][string[]]$Coordinator,
    [string]$TokenFile = "",
    [int]$Port = 7411,
    [string[]]$Allow = @(),
    [string[]]$Peers = @(),
    [string]$Name = "netprobe-agent",
    [string]$Account = "NT AUTHORITY\LocalService"
)
$ErrorActionPreference = "Stop"

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw "run this from an elevated PowerShell (Run as administrator)"
}

$bin = Join-Path $env:ProgramFiles "netprobe"
$data = Join-Path $env:ProgramData "netprobe"
$certDir = Join-Path $data "agent"
New-Item -ItemType Directory -Force -Path $bin, $data, $certDir | Out-Null
$exe = Join-Path $bin "netprobe.exe"
$src = Join-Path $PSScriptRoot "..\..\netprobe.exe"

# A running service holds netprobe.exe open: remove it (exit 2: not installed) before
# replacing the file. (Windows PowerShell turns a native command's redirected stderr into
# errors, which "Stop" would make fatal: relax it around the call.)
$ErrorActionPreference = "Continue"
& $src service status --name $Name *> $null
$ErrorActionPreference = "Stop"
if ($LASTEXITCODE -ne 2) {
    & $src service uninstall --name $Name | Out-Null
}
Copy-Item -Force $src $exe
Unblock-File -Path $exe

# The token: a copy of the coordinator's, or 32 random bytes as hex, written as UTF-8 without
# a byte order mark (Windows PowerShell's > and Out-File write UTF-16, which would not match).
$token = Join-Path $data "token"
if ($TokenFile -ne "") {
    Copy-Item -Force $TokenFile $token
} elseif (-not (Test-Path $token)) {
    $bytes = New-Object byte[] 32
    $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    $rng.GetBytes($bytes)
    $rng.Dispose()
    $hex = -join ($bytes | ForEach-Object { $_.ToString("x2") })
    [System.IO.File]::WriteAllText($token, $hex, (New-Object System.Text.UTF8Encoding($false)))
    Write-Host "made a new token in ${token}: copy it to the coordinator and to every other agent host"
}
# A token saved as UTF-16 or with a byte order mark would silently differ from the
# coordinator's: refuse it here instead.
$raw = [System.IO.File]::ReadAllBytes($token)
if ($raw -contains 0 -or ($raw.Length -ge 2 -and $raw[0] -ge 0xFE -and $raw[1] -ge 0xFE)) {
    throw "$token is UTF-16 text: write it as UTF-8 without a byte order mark (see docs/install.md)"
}
if ($raw.Length -ge 3 -and $raw[0] -eq 0xEF -and $raw[1] -eq 0xBB -and $raw[2] -eq 0xBF) {
    throw "$token starts with a UTF-8 byte order mark: write it without one (see docs/install.md)"
}

# The service first: its account, NT SERVICE\$Name, exists only once the service does, and
# the ACLs below name it. The agent makes its certificate in $certDir at its first start and
# keeps it, so a coordinator's --known-agents still knows it after a restart.
$svcArgs = @("service", "install", "--name", $Name, "--account", $Account, "--listen", ":$Port", "--token-file", $token,
    "--cert", (Join-Path $certDir "agent.crt"), "--key", (Join-Path $certDir "agent.key"), "--create-cert")
foreach ($a in $Allow) { $svcArgs += @("--allow", $a) }
& $exe @svcArgs
if ($LASTEXITCODE -ne 0) { throw "netprobe service install failed ($LASTEXITCODE)" }

# The token: readable by administrators, SYSTEM and this service only (its per-service SID).
icacls $token /inheritance:r /grant:r "Administrators:F" "SYSTEM:F" "NT SERVICE\${Name}:R" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls on $token failed ($LASTEXITCODE)" }
# The certificate folder: the service writes its certificate and key there once.
icacls $certDir /inheritance:r /grant:r "Administrators:(OI)(CI)F" "SYSTEM:(OI)(CI)F" "NT SERVICE\${Name}:(OI)(CI)M" | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls on $certDir failed ($LASTEXITCODE)" }

# Firewall rules, each with its own name: removed and added again, so a second run changes
# nothing. The control port from the coordinator only; the echo and ICMP from the peers.
function Set-NetprobeRule([string]$RuleName, [hashtable]$Rule) {
    Remove-NetFirewallRule -Name $RuleName -ErrorAction SilentlyContinue
    New-NetFirewallRule -Name $RuleName -Group "netprobe agent" -Direction Inbound -Action Allow @Rule | Out-Null
}
Set-NetprobeRule "netprobe-agent-control-$Name" @{ DisplayName = "netprobe agent control ($Name)"; Protocol = "TCP";
    LocalPort = $Port; RemoteAddress = $Coordinator; Program = $exe }
if ($Peers.Count -gt 0) {
    Set-NetprobeRule "netprobe-agent-echo-$Name" @{ DisplayName = "netprobe agent UDP echo ($Name)"; Protocol = "UDP";
        LocalPort = $Port; RemoteAddress = $Peers; Program = $exe }
    Set-NetprobeRule "netprobe-agent-icmp-$Name" @{ DisplayName = "netprobe agent ICMP echo ($Name)"; Protocol = "ICMPv4";
        IcmpType = 8; RemoteAddress = $Peers }
}

& $exe service start --name $Name
if ($LASTEXITCODE -ne 0) { throw "netprobe service start failed ($LASTEXITCODE)" }
& $exe service status --name $Name
