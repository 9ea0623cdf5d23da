# rdpcert restore.ps1: put a backed-up listener certificate and its binding back.
# Windows PowerShell 5.1. Input (JSON): { store, pfx, password, thumbprint, binding:
# { terminalName, registryHashPresent, registryHash }, removeDeployed }. Output: one JSON document.
#
# - The certificate is imported from the PFX only when it is gone and a PFX exists; a
#   backup without one (Windows' own key is not exportable) cannot re-import, and says
#   so (certificateRestored false): rollback is then judged by what the listener presents.
# - After an import, NETWORK SERVICE (S-1-5-20, TermService's account) is granted Read on
#   exactly that key file: an imported key's ACL has SYSTEM and Administrators only.
# - The binding goes back through the registry value, never through WMI: WMI accepts only
#   certificates in LocalMachine\My ("Invalid Parameter"), and restoring the default means
#   removing the value, not writing a hash (KB 3042780).
# - removeDeployed (a deploy's rollback): the certificate that deploy imported into
#   LocalMachine\My (it was not there before) is removed with its key once the binding is
#   back, unless a listener still names it (its WMI hash or its WinStations value).
# - bindingWritten: whether the registry value had to be written or removed (Node restarts
#   nothing after a deploy's rollback that changed nothing).

$binding = $params.binding
$terminalName = 'RDP-Tcp'
if ($null -ne $binding -and $binding.terminalName) { $terminalName = [string]$binding.terminalName }
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
$thumbprint = [string]$params.thumbprint
$store = [string]$params.store
$result = [ordered]@{ imported = $false; certificateRestored = $null; certificateError = $null; keyFile = $null; grantedNetworkService = $false; grantError = $null; binding = $null; bindingWritten = $false; removedDeployed = $null; keptDeployed = $null }

if ($thumbprint) {
  if ($thumbprint -notmatch '^[0-9A-Fa-f]{40}\z') { throw 'thumbprint is not 40 hex digits' }
  if ($store -cnotmatch '^(Remote Desktop|My)\z') { throw 'store is not Remote Desktop or My' }
  $path = 'Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint
  if (Test-Path -LiteralPath $path) {
    $result.certificateRestored = $true
  } elseif (-not $params.pfx) {
    $result.certificateRestored = $false
    $result.certificateError = 'the backup holds no PFX (the private key was not exportable)'
  } else {
    $file = [System.IO.Path]::GetTempFileName()
    try {
      [System.IO.File]::WriteAllBytes($file, [Convert]::FromBase64String([string]$params.pfx))
      $secure = ConvertTo-SecureString -String ([string]$params.password) -AsPlainText -Force
      $cert = Import-PfxCertificate -FilePath $file -CertStoreLocation ('Cert:\LocalMachine\{0}' -f $store) -Password $secure
      $result.imported = $true
      $result.certificateRestored = $true
    } finally {
      Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
    }
    try {
      $container = $null
      $folder = 'Microsoft\Crypto\RSA\MachineKeys'
      try {
        if ($null -ne $cert.PrivateKey -and $null -ne $cert.PrivateKey.CspKeyContainerInfo) { $container = [string]$cert.PrivateKey.CspKeyContainerInfo.UniqueKeyContainerName }
      } catch {
        $container = $null
      }
      if (-not $container) { $container = Get-CngKeyName $cert; $folder = 'Microsoft\Crypto\Keys' }
      if (-not $container) { throw 'the imported key file could not be found' }
      $result.keyFile = Join-Path (Join-Path $env:ProgramData $folder) $container
      Grant-NetworkServiceRead $result.keyFile
      $result.grantedNetworkService = $true
    } catch {
      $result.grantError = $_.Exception.Message
    }
  }
}

if ($null -ne $binding) {
  $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f $terminalName
  $values = Get-ItemProperty -LiteralPath $key
  $present = $null -ne $values.PSObject.Properties['SSLCertificateSHA1Hash']
  $current = $null
  if ($present) { $current = (@($values.SSLCertificateSHA1Hash) | ForEach-Object { ([byte]$_).ToString('X2') }) -join '' }
  if ($binding.registryHashPresent) {
    $hex = [string]$binding.registryHash
    if ($hex -notmatch '^[0-9A-Fa-f]{40}\z') { throw 'binding.registryHash is not 40 hex digits' }
    # Written only when it differs: an unchanged binding is left exactly as it is.
    if ($current -ne $hex.ToUpperInvariant()) {
      $bytes = New-Object byte[] 20
      for ($i = 0; $i -lt 20; $i++) { $bytes[$i] = [Convert]::ToByte($hex.Substring($i * 2, 2), 16) }
      Set-ItemProperty -LiteralPath $key -Name 'SSLCertificateSHA1Hash' -Value $bytes -Type Binary
      $result.bindingWritten = $true
    }
  } elseif ($present) {
    Remove-ItemProperty -LiteralPath $key -Name 'SSLCertificateSHA1Hash'
    $result.bindingWritten = $true
  }
  $setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter ("TerminalName='{0}'" -f $terminalName)
  $after = Get-ItemProperty -LiteralPath $key
  $result.binding = [ordered]@{ hashType = $setting.SSLCertificateSHA1HashType; wmiHash = [string]$setting.SSLCertificateSHA1Hash; registryHashPresent = ($null -ne $after.PSObject.Properties['SSLCertificateSHA1Hash']) }
}
$deployed = ([string]$params.removeDeployed).ToUpperInvariant()
if ($deployed) {
  if ($deployed -notmatch '^[0-9A-F]{40}\z') { throw 'removeDeployed is not 40 hex digits' }
  $bound = @()
  foreach ($listener in @(Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting')) {
    $bound += ([string]$listener.SSLCertificateSHA1Hash).ToUpperInvariant()
    $values = Get-ItemProperty -LiteralPath ('HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f [string]$listener.TerminalName) -ErrorAction SilentlyContinue
    if ($null -ne $values -and $null -ne $values.PSObject.Properties['SSLCertificateSHA1Hash']) { $bound += (@($values.SSLCertificateSHA1Hash) | ForEach-Object { ([byte]$_).ToString('X2') }) -join '' }
  }
  $path = 'Cert:\LocalMachine\My\{0}' -f $deployed
  if ($bound -contains $deployed) {
    $result.keptDeployed = 'a listener still uses it'
  } elseif (Test-Path -LiteralPath $path) {
    Remove-Item -LiteralPath $path -DeleteKey
    $result.removedDeployed = $path
  }
}
ConvertTo-Json -InputObject $result -Depth 4 -Compress
