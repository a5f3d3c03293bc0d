# Install the netprobe agent as a Windows service. Run from an elevated PowerShell in the
# unpacked release folder. See docs/install.md for what each step is for.
#
#   .\deploy\windows\install-agent.ps1 -Coordinator 10.20.0.10 -TokenFile .\token -Allow 10.20.0.0/16,192.168.50.0/24
#
# -Coordinator is the address netprobe check runs from: the firewall rule lets only it reach
# the control port. The token file is the one the coordinator uses (openssl rand -hex 32).
param(
    [Parameter(Mandatory = $true)][string]$Coordinator,
    [Parameter(Mandatory = $true)][string]$TokenFile,
    [int]$Port = 7411,
    [string[]]$Allow = @(),
    [string]$Name = "netprobe-agent",
    [string]$Account = "NT AUTHORITY\LocalService"
)
$ErrorActionPreference = "Stop"

$bin = Join-Path $env:ProgramFiles "netprobe"
$data = Join-Path $env:ProgramData "netprobe"
New-Item -ItemType Directory -Force -Path $bin, $data | Out-Null
Copy-Item -Force (Join-Path $PSScriptRoot "..\..\netprobe.exe") (Join-Path $bin "netprobe.exe")

# The token: readable by administrators, SYSTEM and this service only (its per-service SID).
$token = Join-Path $data "token"
Copy-Item -Force $TokenFile $token
icacls $token /inheritance:r /grant:r "Administrators:F" "SYSTEM:F" "NT SERVICE\${Name}:R" | Out-Null

$exe = Join-Path $bin "netprobe.exe"
$svcArgs = @("service", "install", "--name", $Name, "--account", $Account, "--listen", ":$Port", "--token-file", $token)
foreach ($a in $Allow) { $svcArgs += @("--allow", $a) }
& $exe @svcArgs
if ($LASTEXITCODE -ne 0) { throw "netprobe service install failed ($LASTEXITCODE)" }

# The control port, from the coordinator only. Responder ports are the flows' own rules.
New-NetFirewallRule -DisplayName "netprobe agent control ($Name)" -Direction Inbound -Protocol TCP `
    -LocalPort $Port -RemoteAddress $Coordinator -Program $exe -Action Allow | Out-Null

& $exe service start --name $Name
& $exe service status --name $Name
