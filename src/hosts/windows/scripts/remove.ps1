# rdpcert remove.ps1: remove the stale self-signed listener certificate (with its key) so
# that Windows issues a new one, and clear a configured thumbprint that names a missing
# certificate. Windows PowerShell 5.1. Input (JSON): { thumbprint, store, clearConfigured,
# terminalName }. Output: one JSON document; a refusal is an answer ("refused"), not an error.
#
# Before deleting, the key folders' ACLs are checked: when SYSTEM or Administrators lack
# Full Control on MachineKeys or Keys, Windows cannot issue a new certificate (events
# 1057/1058, KB 2001849), so deleting would leave the listener without one.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
if ([string]::IsNullOrEmpty($InputJson)) { $InputJson = [Console]::In.ReadToEnd() }
$params = $InputJson | ConvertFrom-Json
$terminalName = 'RDP-Tcp'
if ($params.terminalName) { $terminalName = [string]$params.terminalName }
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
$thumbprint = [string]$params.thumbprint
$result = [ordered]@{ removed = @(); clearedConfigured = $false; refused = $null; fix = $null }

$setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter ("TerminalName='{0}'" -f $terminalName)
if ($null -ne $setting -and [int]$setting.SSLCertificateSHA1HashType -eq 2) {
  # A Group Policy template: AD CS auto-enrollment manages this certificate.
  $result.refused = 'group-policy-template'
  $result.fix = 'the certificate comes from a Group Policy template (AD CS auto-enrollment): renew it there (certutil -pulse)'
  ConvertTo-Json -InputObject $result -Compress
  return
}

if ($thumbprint) {
  if ($thumbprint -notmatch '^[0-9A-Fa-f]{40}\z') { throw "thumbprint is not 40 hex digits" }
  if ([string]$params.store -cne 'Remote Desktop') { throw "only certificates in Remote Desktop are removed" }
  $broken = @()
  foreach ($folder in @('Microsoft\Crypto\RSA\MachineKeys', 'Microsoft\Crypto\Keys')) {
    $path = Join-Path $env:ProgramData $folder
    $rights = @{}
    foreach ($rule in @((Get-Acl -LiteralPath $path).GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]))) {
      if ([string]$rule.AccessControlType -ne 'Allow') { continue }
      $sid = [string]$rule.IdentityReference.Value
      if ($rights.ContainsKey($sid)) { $rights[$sid] = $rights[$sid] -bor [int]$rule.FileSystemRights } else { $rights[$sid] = [int]$rule.FileSystemRights }
    }
    foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
      if (-not $rights.ContainsKey($sid) -or (($rights[$sid] -band 2032127) -ne 2032127)) { $broken += ('{0} lacks Full Control for {1}' -f $path, $sid) }
    }
  }
  if ($broken.Count -gt 0) {
    $result.refused = 'key-folders-acl'
    $result.fix = ('Windows could not issue a new certificate (events 1057/1058): ' + ($broken -join '; ') + '. Give SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544) Full Control, e.g. icacls "<folder>" /grant *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F, then rotate again')
    ConvertTo-Json -InputObject $result -Compress
    return
  }
  $path = 'Cert:\LocalMachine\Remote Desktop\{0}' -f $thumbprint
  if (Test-Path -LiteralPath $path) {
    Remove-Item -LiteralPath $path -DeleteKey
    $result.removed = @($path)
  }
}
if ($params.clearConfigured) {
  # Restoring the default means removing the registry value, not writing a hash (KB 3042780).
  $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f $terminalName
  $values = Get-ItemProperty -LiteralPath $key
  if ($null -ne $values.PSObject.Properties['SSLCertificateSHA1Hash']) {
    Remove-ItemProperty -LiteralPath $key -Name 'SSLCertificateSHA1Hash'
    $result.clearedConfigured = $true
  }
}
ConvertTo-Json -InputObject $result -Compress
