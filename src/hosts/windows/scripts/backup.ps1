# rdpcert backup.ps1: back up the listener certificate and its binding before a rotation.
# Windows PowerShell 5.1. Input (JSON, -InputJson or stdin): { thumbprint, store, password,
# terminalName, deployThumbprint }. deployThumbprint (rdpcert deploy): whether LocalMachine\My
# already holds the certificate to deploy, so that a rollback removes it only if the deploy
# imported it (deployPresent). The password protects the PFX and comes from rdpcert as data; it is never
# printed. Output: one JSON document.
#
# The binding is two things (KB 3042780): SSLCertificateSHA1HashType in WMI (1 default
# self-signed, 2 Group Policy template, 3 custom) and whether the registry value
# WinStations\<listener>\SSLCertificateSHA1Hash exists (it is absent for the default).
# Restoring means putting exactly those back (restore.ps1).
$thumbprint = [string]$params.thumbprint
$store = [string]$params.store
$terminalName = 'RDP-Tcp'
if ($params.terminalName) { $terminalName = [string]$params.terminalName }
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
if ($thumbprint -and $thumbprint -notmatch '^[0-9A-Fa-f]{40}\z') { throw "thumbprint is not 40 hex digits" }
if ($thumbprint -and $store -cnotmatch '^(Remote Desktop|My)\z') { throw "store is not Remote Desktop or My" }

$deployThumbprint = [string]$params.deployThumbprint
if ($deployThumbprint -and $deployThumbprint -notmatch '^[0-9A-Fa-f]{40}\z') { throw 'deployThumbprint is not 40 hex digits' }

$result = [ordered]@{ rawData = $null; pfx = $null; exportable = $false; exportError = $null; binding = $null; deployPresent = $null }
if ($deployThumbprint) { $result.deployPresent = [bool](Test-Path -LiteralPath ('Cert:\LocalMachine\My\{0}' -f $deployThumbprint.ToUpperInvariant())) }
if ($thumbprint) {
  $cert = Get-Item -LiteralPath ('Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint)
  $result.rawData = [Convert]::ToBase64String($cert.RawData)
  if ($cert.HasPrivateKey) {
    try {
      $secure = ConvertTo-SecureString -String ([string]$params.password) -AsPlainText -Force
      $bytes = $cert.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx, $secure)
      $result.pfx = [Convert]::ToBase64String($bytes)
      $result.exportable = $true
    } catch {
      # A non-exportable key (the default for Windows' own self-signed certificate) cannot be saved:
      # rollback then means "a valid certificate is presented and the binding is as before".
      $result.exportError = $_.Exception.Message
    }
  }
}

$setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter ("TerminalName='{0}'" -f $terminalName)
$values = Get-ItemProperty -LiteralPath ('HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f $terminalName)
$present = $null -ne $values.PSObject.Properties['SSLCertificateSHA1Hash']
$registryHash = $null
if ($present) { $registryHash = (@($values.SSLCertificateSHA1Hash) | ForEach-Object { ([byte]$_).ToString('X2') }) -join '' }
$result.binding = [ordered]@{
  terminalName = $terminalName
  wmiHash = [string]$setting.SSLCertificateSHA1Hash
  hashType = $setting.SSLCertificateSHA1HashType
  registryHashPresent = $present
  registryHash = $registryHash
}
ConvertTo-Json -InputObject $result -Depth 4 -Compress
