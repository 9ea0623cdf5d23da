# rdpcert: put a backed-up listener certificate back (PFX with its key) and point
# RDP-Tcp at it again. Windows PowerShell 5.1.
# stdin JSON: { store, pfx, password, thumbprint, configuredThumbprint, importCertificate }.
# importCertificate is false when no certificate was installed before (the configured
# thumbprint named a missing one): then only the setting is put back.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$params = [Console]::In.ReadToEnd() | ConvertFrom-Json
$store = [string]$params.store
if ($store -notin @('Remote Desktop', 'My')) { throw "store '$store' is not Remote Desktop or My" }
$thumbprint = [string]$params.thumbprint
if ($thumbprint -notmatch '^[0-9A-Fa-f]{40}$') { throw "thumbprint '$thumbprint' is not 40 hex digits" }
$imported = $false
if ($params.importCertificate -and -not (Test-Path -LiteralPath ('Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint))) {
  if (-not $params.pfx) { throw "the backup holds no PFX (the key was not exportable): the old certificate cannot be put back" }
  $file = [System.IO.Path]::GetTempFileName()
  try {
    [System.IO.File]::WriteAllBytes($file, [Convert]::FromBase64String([string]$params.pfx))
    $secure = ConvertTo-SecureString -String ([string]$params.password) -AsPlainText -Force
    Import-PfxCertificate -FilePath $file -CertStoreLocation ('Cert:\LocalMachine\{0}' -f $store) -Password $secure | Out-Null
    $imported = $true
  } finally {
    Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
  }
}
$configured = [string]$params.configuredThumbprint
if ($configured) {
  if ($configured -notmatch '^[0-9A-Fa-f]{40}$') { throw "configuredThumbprint '$configured' is not 40 hex digits" }
  $setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter "TerminalName='RDP-tcp'"
  Set-CimInstance -InputObject $setting -Property @{ SSLCertificateSHA1Hash = $configured }
}
[ordered]@{ imported = $imported; configured = $configured } | ConvertTo-Json -Compress
