# rdpcert: restart Remote Desktop so that it issues (or reloads) its certificate.
# SessionEnv first (Microsoft's documented step); if no certificate other than the
# old one appears, stop UmRdpService and restart TermService. Every wait is bounded.
# Windows PowerShell 5.1. stdin JSON: { oldThumbprint, waitSeconds }.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$params = [Console]::In.ReadToEnd() | ConvertFrom-Json
$old = [string]$params.oldThumbprint
$wait = 30
if ($params.waitSeconds) { $wait = [int]$params.waitSeconds }

function Get-ListenerThumbprint {
  [string](Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter "TerminalName='RDP-tcp'").SSLCertificateSHA1Hash
}

function Wait-NewCertificate([int]$seconds) {
  $deadline = (Get-Date).AddSeconds($seconds)
  while ((Get-Date) -lt $deadline) {
    $now = Get-ListenerThumbprint
    if ($now -and ($now -ne $old) -and (Test-Path -LiteralPath ('Cert:\LocalMachine\Remote Desktop\{0}' -f $now))) { return $now }
    Start-Sleep -Milliseconds 500
  }
  return $null
}

function Wait-Status([string]$name, [string]$status, [int]$seconds) {
  $service = Get-Service -Name $name
  $service.WaitForStatus($status, [TimeSpan]::FromSeconds($seconds))
}

$restarted = @()
Restart-Service -Name 'SessionEnv' -Force
Wait-Status 'SessionEnv' 'Running' $wait
$restarted += 'SessionEnv'
$new = Wait-NewCertificate $wait
if (-not $new) {
  # TermService can hang in Stopping; stopping UmRdpService (which depends on it) first helps.
  Stop-Service -Name 'UmRdpService' -Force -ErrorAction SilentlyContinue
  Wait-Status 'UmRdpService' 'Stopped' $wait
  Restart-Service -Name 'TermService' -Force
  Wait-Status 'TermService' 'Running' $wait
  Start-Service -Name 'UmRdpService' -ErrorAction SilentlyContinue
  $restarted += 'TermService'
  $new = Wait-NewCertificate $wait
}
[ordered]@{ restarted = $restarted; thumbprint = $new } | ConvertTo-Json -Compress
