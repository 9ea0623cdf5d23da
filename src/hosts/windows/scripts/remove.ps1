# rdpcert: remove the stale self-signed listener certificate (with its key) so that
# Windows creates a new one, and clear a configured thumbprint that names a missing
# certificate. Windows PowerShell 5.1. stdin JSON: { thumbprint, store, clearConfigured }.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$params = [Console]::In.ReadToEnd() | ConvertFrom-Json
$removed = @()
$thumbprint = [string]$params.thumbprint
if ($thumbprint) {
  if ($thumbprint -notmatch '^[0-9A-Fa-f]{40}$') { throw "thumbprint '$thumbprint' is not 40 hex digits" }
  if ([string]$params.store -ne 'Remote Desktop') { throw "only certificates in Remote Desktop are removed; '$($params.store)' is not" }
  $path = 'Cert:\LocalMachine\Remote Desktop\{0}' -f $thumbprint
  if (Test-Path -LiteralPath $path) {
    Remove-Item -LiteralPath $path -DeleteKey
    $removed += $path
  }
}
$cleared = $false
if ($params.clearConfigured) {
  $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
  if (Get-ItemProperty -Path $key -Name 'SSLCertificateSHA1Hash' -ErrorAction SilentlyContinue) {
    Remove-ItemProperty -Path $key -Name 'SSLCertificateSHA1Hash'
    $cleared = $true
  }
}
[ordered]@{ removed = $removed; clearedConfigured = $cleared } | ConvertTo-Json -Compress
