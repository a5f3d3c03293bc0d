# Check a Windows agent host after install-agent.ps1: the service, its token and certificate,
# the control port, the firewall rules, and the host facts as the running agent reports them
# (retention volume, VMware Tools, SCSI controller, disks). Read-only: it changes nothing.
# Run from an elevated PowerShell (5.1 or 7) on the agent host; docs/install.md shows the
# output to expect.
#
#   powershell -ExecutionPolicy Bypass -File .\deploy\windows\check-host.ps1 [-Name netprobe-agent] [-Port 7411] [-Retention R:\]
#
# Exit status: 0 when every line is "ok", 1 otherwise.
param(
    [string]$Name = "netprobe-agent",
    [int]$Port = 7411,
    [string]$Retention = "R:\"
)
# A report goes on past a failed step (and Windows PowerShell would turn a native command's
# redirected stderr into errors, which "Stop" makes fatal).
$ErrorActionPreference = "Continue"

$exe = Join-Path $env:ProgramFiles "netprobe\netprobe.exe"
$data = Join-Path $env:ProgramData "netprobe"
$token = Join-Path $data "token"
$cert = Join-Path $data "agent\agent.crt"
$script:failed = 0

function Report([string]$What, [bool]$Ok, [string]$Detail) {
    $mark = "ok  "
    if (-not $Ok) { $mark = "FAIL"; $script:failed++ }
    Write-Output ("{0} {1,-14} {2}" -f $mark, $What, $Detail)
}

Report "windows" $true ("{0}, PowerShell {1}" -f [Environment]::OSVersion.VersionString, $PSVersionTable.PSVersion)

if (-not (Test-Path $exe)) {
    Report "netprobe.exe" $false "$exe is missing: run install-agent.ps1"
    exit 1
}
Report "netprobe.exe" $true ((& $exe version | Select-Object -First 1) + " in $exe")

# The service: running, as the account install-agent.ps1 gave it.
$status = & $exe service status --name $Name 2>&1 | ForEach-Object { "$_" }
Report "service" ($LASTEXITCODE -eq 0) ((($status | Where-Object { $_ -match "^service |account:" }) | ForEach-Object { $_.Trim() }) -join "; ")

# The token: present, plain UTF-8 without a byte order mark, long enough, and readable only by
# administrators, SYSTEM and the service.
if (Test-Path $token) {
    $raw = [System.IO.File]::ReadAllBytes($token)
    $utf16 = ($raw -contains 0) -or ($raw.Length -ge 2 -and $raw[0] -ge 0xFE -and $raw[1] -ge 0xFE)
    $bom = $raw.Length -ge 3 -and $raw[0] -eq 0xEF -and $raw[1] -eq 0xBB -and $raw[2] -eq 0xBF
    $text = [System.Text.Encoding]::ASCII.GetString($raw).Trim()
    Report "token" (-not $utf16 -and -not $bom -and $text.Length -ge 16) ("{0} bytes, UTF-16: {1}, byte order mark: {2}" -f $text.Length, $utf16, $bom)
    $acl = Get-Acl $token
    $allowed = @("BUILTIN\Administrators", "NT AUTHORITY\SYSTEM", "NT SERVICE\$Name")
    $others = @($acl.Access | Where-Object { $allowed -notcontains $_.IdentityReference.Value } | ForEach-Object { $_.IdentityReference.Value })
    Report "token access" ($acl.AreAccessRulesProtected -and $others.Count -eq 0) (($acl.Access | ForEach-Object { "{0}:{1}" -f $_.IdentityReference.Value, $_.FileSystemRights }) -join ", ")
} else {
    Report "token" $false "$token is missing"
}

# The certificate the agent made at its first start: its SHA-256 is what a coordinator's
# --known-agents records; pin it there by hand to trust it from the first run.
if (Test-Path $cert) {
    $pem = Get-Content -Raw $cert
    $b64 = ($pem -replace "-----[A-Z ]+-----", "" -replace "\s", "")
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $sum = -join ($sha.ComputeHash([Convert]::FromBase64String($b64)) | ForEach-Object { $_.ToString("x2") })
    Report "certificate" $true "sha256 $sum (a known-agents line: <this host's address>:$Port $sum)"
} else {
    Report "certificate" $false "$cert is missing: the service makes it at its first start (--create-cert)"
}

# The control port: the agent listens on it.
$listen = @(Get-NetTCPConnection -LocalPort $Port -State Listen -ErrorAction SilentlyContinue)
$owners = @($listen | ForEach-Object { (Get-Process -Id $_.OwningProcess).ProcessName } | Sort-Object -Unique)
Report "control port" ($owners -contains "netprobe") ("tcp {0} held by {1}" -f $Port, (($owners -join ", "), "nothing")[$owners.Count -eq 0])

# Firewall rules of netprobe's groups (install-agent.ps1, and netprobe flows --format powershell).
$rules = @(Get-NetFirewallRule -Group "netprobe agent", "netprobe ASR" -ErrorAction SilentlyContinue)
$control = @($rules | Where-Object { $_.Name -eq "netprobe-agent-control-$Name" -and $_.Enabled -eq "True" })
Report "firewall" ($control.Count -eq 1) ("{0} rules in groups 'netprobe agent' and 'netprobe ASR'; control rule {1}" -f $rules.Count, (("missing", "present")[$control.Count -eq 1]))
foreach ($r in $rules) {
    $pf = $r | Get-NetFirewallPortFilter
    $af = $r | Get-NetFirewallAddressFilter
    Write-Output ("       {0}: {1} {2} from {3}" -f $r.Name, $pf.Protocol, $pf.LocalPort, ($af.RemoteAddress -join ","))
}

# Host facts, as the running service collects them: a one-host check through the agent.
$mini = Join-Path $env:TEMP "netprobe-check-host.yaml"
@"
version: 1
name: check-host
settings: {azure_endpoints: false}
sites:
  here: {kind: onprem, networks: [127.0.0.0/8]}
hosts:
  this:
    site: here
    os: windows
    roles: [master-target]
    address: 127.0.0.1
    agent: 127.0.0.1:$Port
    retention: '$Retention'
"@ | Set-Content -Encoding ASCII $mini
$json = & $exe check -f $mini --token-file $token --headless --format json 2>$null | Out-String
Remove-Item $mini
try {
    $run = $json | ConvertFrom-Json
    foreach ($r in $run.results) {
        Report ("host fact") ($r.status -ne "error") ("{0,-13} {1,-5} {2}" -f $r.rule, $r.status, $r.message)
    }
} catch {
    Report "host facts" $false "the agent did not answer a check on 127.0.0.1:${Port}: $json"
}

# The agent's last log lines in the Application event log.
$events = @(Get-WinEvent -FilterHashtable @{ LogName = "Application"; ProviderName = "netprobe" } -MaxEvents 3 -ErrorAction SilentlyContinue)
Report "event log" ($events.Count -gt 0) ("{0} recent entries from source netprobe" -f $events.Count)
foreach ($e in $events) {
    Write-Output ("       {0:yyyy-MM-dd HH:mm:ss} {1}" -f $e.TimeCreated, ($e.Message -split "`n")[0])
}

if ($script:failed -gt 0) {
    Write-Output "$($script:failed) problem(s): see docs/install.md"
    exit 1
}
Write-Output "all ok"
