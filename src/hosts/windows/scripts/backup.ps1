# rdpcert: back up the listener certificate before a rotation. Windows PowerShell 5.1.
# stdin JSON: { thumbprint, store, password }. The password protects the PFX and
# comes from rdpcert as data; it is never printed. stdout: one JSON document.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$params = [Console]::In.ReadToEnd() | ConvertFrom-Json
$thumbprint = [string]$params.thumbprint
$store = [string]$params.store
if ($thumbprint -notmatch '^[0-9A-Fa-f]{40}$') { throw "thumbprint '$thumbprint' is not 40 hex digits" }
if ($store -notin @('Remote Desktop', 'My')) { throw "store '$store' is not Remote Desktop or My" }

$path = 'Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint
$cert = Get-Item -LiteralPath $path
$result = [ordered]@{ rawData = [Convert]::ToBase64String($cert.RawData); pfx = $null; exportable = $false; exportError = $null }
if ($cert.HasPrivateKey) {
  try {
    $secure = ConvertTo-SecureString -String ([string]$params.password) -AsPlainText -Force
    $bytes = $cert.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx, $secure)
    $result.pfx = [Convert]::ToBase64String($bytes)
    $result.exportable = $true
  } catch {
    # A non-exportable key (the default for Windows' own self-signed certificate) cannot be saved.
    $result.exportError = $_.Exception.Message
  }
}
$configured = (Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter "TerminalName='RDP-tcp'").SSLCertificateSHA1Hash
$result.configuredThumbprint = [string]$configured
$result | ConvertTo-Json -Compress
