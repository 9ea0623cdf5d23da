# rdpcert deploy.ps1: put a CA-issued certificate on the RDP listener (rdpcert deploy).
# Windows PowerShell 5.1. Input (JSON): { thumbprint, pfx, password, intermediates, terminalName }.
# The PFX (base64) and its password come from rdpcert as data on stdin, never on a command line,
# and are never printed. Output: one JSON document; a refusal is an answer ("refused", "fix"),
# not an error, and a refusal before the binding changes nothing but what "imported" says.
#
# 1. The certificate goes into LocalMachine\My, not Remote Desktop: WMI binds only certificates
#    in My ("Invalid Parameter" otherwise; KB 3042780). With a PFX it is imported unless My
#    already holds it with its key; with only a thumbprint (deploy --thumbprint) My must hold it
#    with its private key. Intermediates go to LocalMachine\CA, where Schannel looks for the
#    chain it sends; a root is never added (trust is not rdpcert's to grant).
# 2. NETWORK SERVICE (S-1-5-20, TermService's account; the SID, never the localized name) gets
#    Read on exactly this certificate's key file: CAPI keys under Crypto\RSA\MachineKeys, CNG
#    keys under Crypto\Keys (Posh-ACME.Deploy #12; KB 3042780). Without it Windows falls back
#    to its self-signed certificate (events 1051/1055/1059, Schannel 36870).
# 3. The binding through CIM (Win32_TSGeneralSetting.SSLCertificateSHA1Hash), never wmic (gone
#    from Server 2025 and Windows 11 24H2; win-acme #2748, #2782). A binding a Group Policy
#    template manages (SSLCertificateSHA1HashType 2) is refused: a manual hash would take
#    precedence over the policy, and the two would fight.
# No service is restarted here: like win-acme's ImportRDListener.ps1 and Posh-ACME.Deploy's
# Set-RDSHCertificate, the hash set through WMI is what the listener uses for new connections;
# Node verifies that by a handshake, and rolls back otherwise.

$terminalName = 'RDP-Tcp'
if ($params.terminalName) { $terminalName = [string]$params.terminalName }
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
$thumbprint = ([string]$params.thumbprint).ToUpperInvariant()
if ($thumbprint -notmatch '^[0-9A-F]{40}\z') { throw 'thumbprint is not 40 hex digits' }

$result = [ordered]@{ thumbprint = $thumbprint; imported = $false; intermediatesAdded = @(); keyFile = $null; keyProvider = $null; granted = $null; bound = $false; previous = $null; hashType = $null; refused = $null; fix = $null }
function Write-Result { ConvertTo-Json -InputObject $result -Depth 4 -Compress }

$setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter ("TerminalName='{0}'" -f $terminalName)
if ($null -eq $setting) { throw ('there is no listener {0} (Win32_TSGeneralSetting)' -f $terminalName) }
$winStation = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f $terminalName
$values = Get-ItemProperty -LiteralPath $winStation
$registryPresent = $null -ne $values.PSObject.Properties['SSLCertificateSHA1Hash']
$registryHash = $null
if ($registryPresent) { $registryHash = (@($values.SSLCertificateSHA1Hash) | ForEach-Object { ([byte]$_).ToString('X2') }) -join '' }
$result.previous = [ordered]@{ wmiHash = [string]$setting.SSLCertificateSHA1Hash; hashType = $setting.SSLCertificateSHA1HashType; registryHashPresent = $registryPresent; registryHash = $registryHash }
if ([int]$setting.SSLCertificateSHA1HashType -eq 2) {
  $result.refused = 'group-policy-template'
  $result.fix = 'the binding is managed by a Group Policy certificate template (AD CS auto-enrollment, SSLCertificateSHA1HashType 2): a hash set by hand would fight the policy. Renew through the template (certutil -pulse), or remove the policy first'
  Write-Result
  return
}

$path = 'Cert:\LocalMachine\My\{0}' -f $thumbprint
$cert = $null
if (Test-Path -LiteralPath $path) { $cert = Get-Item -LiteralPath $path }
if ($params.pfx -and ($null -eq $cert -or -not $cert.HasPrivateKey)) {
  $file = [System.IO.Path]::GetTempFileName()
  try {
    [System.IO.File]::WriteAllBytes($file, [Convert]::FromBase64String([string]$params.pfx))
    $secure = ConvertTo-SecureString -String ([string]$params.password) -AsPlainText -Force
    # Not -Exportable: the key stays where it is; rdpcert's backups never need it (the PFX came from the operator).
    $imported = @(Import-PfxCertificate -FilePath $file -CertStoreLocation 'Cert:\LocalMachine\My' -Password $secure)
  } finally {
    Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
  }
  $result.imported = $true
  if (-not (@($imported | ForEach-Object { [string]$_.Thumbprint }) -contains $thumbprint)) { throw ('the PFX does not hold the certificate {0}' -f $thumbprint) }
  $cert = Get-Item -LiteralPath $path
}
if ($null -eq $cert) {
  $result.refused = 'not-in-my'
  $result.fix = ('the certificate {0} is not in LocalMachine\My: import it there with its private key (Import-PfxCertificate -CertStoreLocation Cert:\LocalMachine\My, or certreq -accept), then deploy again' -f $thumbprint)
  Write-Result
  return
}
if (-not $cert.HasPrivateKey) {
  $result.refused = 'no-private-key'
  $result.fix = ('LocalMachine\My\{0} has no private key on this machine: import the PFX that holds it (or complete the request with certreq -accept on the machine that made it)' -f $thumbprint)
  Write-Result
  return
}

foreach ($encoded in @($params.intermediates)) {
  if (-not $encoded) { continue }
  $bytes = [Convert]::FromBase64String([string]$encoded)
  $sha1 = [System.Security.Cryptography.SHA1]::Create()
  $caThumbprint = (@($sha1.ComputeHash($bytes)) | ForEach-Object { ([byte]$_).ToString('X2') }) -join ''
  if (Test-Path -LiteralPath ('Cert:\LocalMachine\CA\{0}' -f $caThumbprint)) { continue }
  $file = [System.IO.Path]::GetTempFileName()
  try {
    [System.IO.File]::WriteAllBytes($file, $bytes)
    [void](Import-Certificate -FilePath $file -CertStoreLocation 'Cert:\LocalMachine\CA')
  } finally {
    Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
  }
  $result.intermediatesAdded += $caThumbprint
}

# The key file: .NET Framework's PrivateKey gives a CAPI key's container (and throws for CNG).
$container = $null
try {
  if ($null -ne $cert.PrivateKey -and $null -ne $cert.PrivateKey.CspKeyContainerInfo) { $container = [string]$cert.PrivateKey.CspKeyContainerInfo.UniqueKeyContainerName }
} catch {
  $container = $null
}
$result.keyProvider = 'CAPI'
$folder = 'Microsoft\Crypto\RSA\MachineKeys'
if (-not $container) { $container = Get-CngKeyName $cert; $result.keyProvider = 'CNG'; $folder = 'Microsoft\Crypto\Keys' }
if (-not $container) {
  $result.refused = 'key-file-not-found'
  $result.fix = ('the key file of {0} was found neither under MachineKeys nor under Crypto\Keys: grant NETWORK SERVICE (S-1-5-20) Read on it by hand (certlm.msc, Manage Private Keys), then deploy --thumbprint {0}' -f $thumbprint)
  Write-Result
  return
}
$result.keyFile = Join-Path (Join-Path $env:ProgramData $folder) $container
# NETWORK SERVICE's token, its groups included: as inspect.ps1 judges it.
if (Test-Granted (Get-AllowedRights $result.keyFile) $networkServiceToken 'read') {
  $result.granted = 'already'
} else {
  try {
    Grant-NetworkServiceRead $result.keyFile
    $result.granted = 'granted'
  } catch {
    $result.refused = 'grant-failed'
    $result.fix = ('NETWORK SERVICE (S-1-5-20) could not be given Read on {0} ({1}): without it Windows falls back to its self-signed certificate; check that this runs as an administrator' -f $result.keyFile, $_.Exception.Message)
    Write-Result
    return
  }
}

Set-CimInstance -InputObject $setting -Property @{ SSLCertificateSHA1Hash = $thumbprint }
$after = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter ("TerminalName='{0}'" -f $terminalName)
$result.hashType = $after.SSLCertificateSHA1HashType
$result.bound = ([string]$after.SSLCertificateSHA1Hash).ToUpperInvariant() -eq $thumbprint
Write-Result
