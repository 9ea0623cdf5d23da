<#
.SYNOPSIS
  Intune Remediations remediation script: one pass of rdpcert's policy (rdpcert run).

.DESCRIPTION
  Intune runs it when Detect-RdpCert.ps1 exits 1. It runs `rdpcert run --json` with node.exe
  and rdpcert's main.js by absolute path: the same pass as the scheduled task - rotate a
  self-signed certificate or deploy a newer CA-issued one only when due, verify it with a real
  RDP handshake, roll back on failure, back off after failures. It prints ONE line, at most
  2,048 characters (Intune's remediation output), e.g.
    rdpcert run: rotated (WARN): new thumbprint 1A2B...: certificate expires in 12 days
  Exit 0 when rdpcert exits 0 (healthy, or repaired and verified); exit 1 otherwise (rdpcert's
  exit code and reason are in the line). Intune then runs detection again.

  Running it again is harmless: a healthy listener is left alone (outcome "nothing"), and a
  failed rotation is not retried before its backoff expires. Run as SYSTEM; from 32-bit
  PowerShell on 64-bit Windows it starts itself again through %SystemRoot%\Sysnative.

  The file is ASCII (UTF-8 without a BOM).

.PARAMETER Node
  node.exe (default: %ProgramFiles%\nodejs\node.exe).
.PARAMETER Cli
  rdpcert's main.js (default: %ProgramFiles%\rdpcert\node_modules\rdpcert\dist\src\cli\main.js).
.PARAMETER Config
  rdpcert's configuration file; default rdpcert's own (%ProgramData%\rdpcert\config.json).
#>
[CmdletBinding()]
param(
  [string]$Node = '',
  [string]$Cli = '',
  [string]$Config = ''
)

# --- shared helpers: identical in Detect-RdpCert.ps1 and Remediate-RdpCert.ps1 (a test checks) ---
$MaxOutput = 2048

# Windows PowerShell 5.1 (PowerShell 7 too): no ?:, no ??, no ternaries.

function Get-SysnativePowerShell {
  # The 64-bit Windows PowerShell seen from a 32-bit process on 64-bit Windows; $null when this
  # process is already native. (Sysnative exists only for 32-bit processes: WOW64 file redirection.)
  param([bool]$Is64BitOs, [bool]$Is64BitProcess, [string]$SystemRoot)
  if ($Is64BitOs -and -not $Is64BitProcess) {
    return [System.IO.Path]::Combine($SystemRoot, 'Sysnative', 'WindowsPowerShell', 'v1.0', 'powershell.exe')
  }
  return $null
}

function Get-RelaunchArguments {
  # The arguments that start this script again in 64-bit PowerShell with the parameters that were given.
  param([string]$ScriptPath, [System.Collections.IDictionary]$Bound)
  $list = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $ScriptPath)
  foreach ($name in @('Node', 'Cli', 'Config')) {
    if ($Bound.Contains($name) -and $Bound[$name]) { $list += @("-$name", [string]$Bound[$name]) }
  }
  return , $list
}

function Format-OneLine {
  # One line for Intune: control characters become spaces, capped at $MaxOutput characters.
  param([string]$Text)
  $line = [regex]::Replace([string]$Text, '[\x00-\x1f\x7f-\x9f]+', ' ').Trim()
  if ($line.Length -gt $MaxOutput) { $line = $line.Substring(0, $MaxOutput - 3) + '...' }
  return $line
}

function Get-RdpcertPaths {
  param([string]$Node, [string]$Cli)
  $programFiles = $env:ProgramW6432
  if (-not $programFiles) { $programFiles = $env:ProgramFiles }
  if (-not $Node) { $Node = [System.IO.Path]::Combine([string]$programFiles, 'nodejs', 'node.exe') }
  if (-not $Cli) { $Cli = [System.IO.Path]::Combine([string]$programFiles, 'rdpcert', 'node_modules', 'rdpcert', 'dist', 'src', 'cli', 'main.js') }
  return @{ Node = $Node; Cli = $Cli }
}

function Invoke-Rdpcert {
  # Runs node CLI ARGS... (argv, no shell) and returns its exit code, stdout and first stderr line.
  param([string]$Node, [string]$Cli, [string[]]$Arguments)
  foreach ($path in @($Node, $Cli)) {
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
      return @{ Code = -1; Stdout = ''; Stderr = "rdpcert is not installed: $path is missing" }
    }
  }
  foreach ($arg in $Arguments) {
    # Windows PowerShell 5.1 passes a native argument with a double quote or an empty one wrongly.
    if ($arg -eq '' -or $arg.Contains('"')) { return @{ Code = -1; Stdout = ''; Stderr = 'an rdpcert argument is empty or contains a double quote' } }
  }
  [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding($false)
  $saved = $ErrorActionPreference
  $ErrorActionPreference = 'Continue'
  try {
    $all = @(& $Node $Cli @Arguments 2>&1)
    $code = $LASTEXITCODE
  } catch {
    $ErrorActionPreference = $saved
    return @{ Code = -1; Stdout = ''; Stderr = "cannot start ${Node}: $($_.Exception.Message)" }
  }
  $ErrorActionPreference = $saved
  $out = @($all | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | ForEach-Object { [string]$_ }) -join "`n"
  $err = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { $_.ToString() } | Where-Object { $_.Trim() })
  $first = ''
  if ($err.Count -gt 0) { $first = $err[0] }
  return @{ Code = $code; Stdout = $out; Stderr = $first }
}

function ConvertFrom-RdpcertJson {
  param([string]$Text, [string]$Schema)
  try { $doc = $Text | ConvertFrom-Json } catch { return $null }
  if ($null -eq $doc -or $doc.schema -ne $Schema) { return $null }
  return $doc
}

function Get-CertificateSummary {
  # Days left and thumbprint of the presented certificate, else the configured one.
  param($Report)
  foreach ($part in @($Report.presented, $Report.configured)) {
    if ($null -ne $part -and $null -ne $part.certificate) {
      return ('{0} days left, thumbprint {1}' -f $part.certificate.daysLeft, $part.certificate.thumbprint)
    }
  }
  return 'no certificate'
}

function Start-RdpCertScript {
  # From a 32-bit process on 64-bit Windows: this script again in 64-bit Windows PowerShell, its one
  # line and exit code passed on. Otherwise: $Work's @{ ExitCode; Line }.
  param([System.Collections.IDictionary]$Bound, [string]$ScriptPath, [bool]$Is64BitOs, [bool]$Is64BitProcess, [string]$SystemRoot, [scriptblock]$Work)
  $sysnative = Get-SysnativePowerShell -Is64BitOs $Is64BitOs -Is64BitProcess $Is64BitProcess -SystemRoot $SystemRoot
  if ($sysnative) {
    if (-not (Test-Path -LiteralPath $sysnative -PathType Leaf)) { return @{ ExitCode = 1; Line = "rdpcert: cannot start 64-bit PowerShell: $sysnative is missing" } }
    $relaunch = Get-RelaunchArguments -ScriptPath $ScriptPath -Bound $Bound
    $lines = @(& $sysnative @relaunch)
    $code = $LASTEXITCODE
    return @{ ExitCode = $code; Line = (Format-OneLine ($lines -join ' ')) }
  }
  return (& $Work)
}

# --- end of shared helpers ---

function Invoke-RdpCertRemediation {
  # Returns @{ ExitCode; Line }.
  param([string]$Node, [string]$Cli, [string]$Config)
  $paths = Get-RdpcertPaths -Node $Node -Cli $Cli
  $arguments = @('run', '--json')
  if ($Config) { $arguments += @('--config', $Config) }
  $ran = Invoke-Rdpcert -Node $paths.Node -Cli $paths.Cli -Arguments $arguments
  $report = ConvertFrom-RdpcertJson -Text $ran.Stdout -Schema 'rdpcert.run/v1'
  if ($null -eq $report) {
    $why = $ran.Stderr
    if (-not $why) { $why = "rdpcert run exited with $($ran.Code) and printed no report" }
    return @{ ExitCode = 1; Line = (Format-OneLine "rdpcert run failed: $why") }
  }
  $new = ''
  if ($null -ne $report.rotation -and $report.rotation.newThumbprint) { $new = " new thumbprint $($report.rotation.newThumbprint):" }
  $line = Format-OneLine ('rdpcert run: {0} ({1}, exit {2}):{3} {4}' -f $report.outcome, $report.status, $ran.Code, $new, $report.reason)
  if ($ran.Code -eq 0) { return @{ ExitCode = 0; Line = $line } }
  return @{ ExitCode = 1; Line = $line }
}

# Dot-sourced (tests): define the functions only.
if ($MyInvocation.InvocationName -eq '.') { return }

$result = Start-RdpCertScript -Bound $PSBoundParameters -ScriptPath $PSCommandPath -SystemRoot $env:SystemRoot `
  -Is64BitOs ([Environment]::Is64BitOperatingSystem) -Is64BitProcess ([Environment]::Is64BitProcess) `
  -Work { Invoke-RdpCertRemediation -Node $Node -Cli $Cli -Config $Config }
Write-Output $result.Line
exit $result.ExitCode
