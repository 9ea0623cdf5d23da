# rdpcert remove-old.ps1: `deploy --remove-old`, after the new certificate was verified on the
# wire: remove the previous listener certificate with its key (Remove-Item -DeleteKey), as
# win-acme removes the old one only after the new one is installed. Windows PowerShell 5.1.
# Input (JSON): { thumbprint, store, keep }. Output: one JSON document { removed, kept }:
# "kept" says why nothing was removed (a refusal is an answer, not an error).
# Never the certificate just deployed ("keep"), and never one that any listener still names:
# each Win32_TSGeneralSetting's hash (which reports Windows' own certificate for the default
# binding) and each WinStations value SSLCertificateSHA1Hash.
$thumbprint = ([string]$params.thumbprint).ToUpperInvariant()
$keep = ([string]$params.keep).ToUpperInvariant()
$store = [string]$params.store
if ($thumbprint -notmatch '^[0-9A-F]{40}\z') { throw 'thumbprint is not 40 hex digits' }
if ($keep -notmatch '^[0-9A-F]{40}\z') { throw 'keep is not 40 hex digits' }
if ($store -cnotmatch '^(Remote Desktop|My)\z') { throw 'store is not Remote Desktop or My' }
$result = [ordered]@{ removed = @(); kept = $null }

$bound = @()
foreach ($setting in @(Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting')) {
  $bound += ([string]$setting.SSLCertificateSHA1Hash).ToUpperInvariant()
  $values = Get-ItemProperty -LiteralPath ('HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f [string]$setting.TerminalName) -ErrorAction SilentlyContinue
  if ($null -ne $values -and $null -ne $values.PSObject.Properties['SSLCertificateSHA1Hash']) { $bound += (@($values.SSLCertificateSHA1Hash) | ForEach-Object { ([byte]$_).ToString('X2') }) -join '' }
}
$path = 'Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint
if ($thumbprint -eq $keep) {
  $result.kept = 'it is the certificate just deployed'
} elseif ($bound -contains $thumbprint) {
  $result.kept = 'a listener still uses it'
} elseif (-not (Test-Path -LiteralPath $path)) {
  $result.kept = 'it is no longer installed'
} else {
  try {
    Remove-Item -LiteralPath $path -DeleteKey
    $result.removed = @($path)
  } catch {
    if ($store -ne 'Remote Desktop') { throw }
    # As remove.ps1: Windows' own key does not open for an admin from Server 2019 on, so the
    # certificate goes alone and its key file (TSSecKeySet1: f686aace..._<MachineGuid>) by name.
    Remove-Item -LiteralPath $path
    $result.removed = @($path)
    $guid = [string](Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Cryptography' -Name 'MachineGuid').MachineGuid
    $keyFile = Join-Path $env:ProgramData ('Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_' + $guid)
    if ($guid -match '^[0-9A-Fa-f-]{36}\z' -and (Test-Path -LiteralPath $keyFile)) {
      Remove-Item -LiteralPath $keyFile -Force
      $result.removed += $keyFile
    }
  }
}
ConvertTo-Json -InputObject $result -Depth 4 -Compress
