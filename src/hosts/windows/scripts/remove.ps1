# rdpcert remove.ps1: remove the stale self-signed listener certificate (with its key) so
# that Windows issues a new one, and clear a configured thumbprint that names a missing
# certificate. Windows PowerShell 5.1. Input (JSON): { thumbprint, store, clearConfigured,
# terminalName }. Output: one JSON document; a refusal is an answer ("refused"), not an error.
#
# Before deleting, the key folders' ACLs are checked: when SessionEnv (LocalSystem) could not
# create a file in MachineKeys or Keys, Windows cannot issue a new certificate (events
# 1057/1058 "Access is denied"), so deleting would leave the listener without one. No
# particular entry is required: the default MachineKeys ACL is Everyone (R,W) +
# Administrators Full Control, with no SYSTEM entry (KB 278381; windows-evidence/01 1.1).
$terminalName = 'RDP-Tcp'
if ($params.terminalName) { $terminalName = [string]$params.terminalName }
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
$thumbprint = [string]$params.thumbprint
$result = [ordered]@{ removed = @(); clearedConfigured = $false; refused = $null; fix = $null; keyError = $null }

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
    $mask = [long]0
    foreach ($rule in @((Get-Acl -LiteralPath $path).GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]))) {
      if ([string]$rule.AccessControlType -ne 'Allow') { continue }
      # SYSTEM's token: SYSTEM, Administrators, Everyone, Authenticated Users.
      if (@('S-1-5-18', 'S-1-5-32-544', 'S-1-1-0', 'S-1-5-11') -notcontains [string]$rule.IdentityReference.Value) { continue }
      $bits = [long][int]$rule.FileSystemRights
      if ($bits -lt 0) { $bits += 4294967296 }
      $mask = $mask -bor $bits
    }
    # WriteData (2: create a file), GENERIC_WRITE (0x40000000) or GENERIC_ALL (0x10000000).
    if ((($mask -band 2) -eq 0) -and (($mask -band 1342177280) -eq 0)) { $broken += $path }
  }
  if ($broken.Count -gt 0) {
    $result.refused = 'key-folders-acl'
    $result.fix = ('Windows could not create the new key (events 1057/1058 "Access is denied"): ' + ($broken -join ', ') + ' lets neither SYSTEM, Administrators nor Everyone create files. Restore the default ACL (KB 278381), e.g. icacls "<folder>" /grant *S-1-1-0:(R,W) *S-1-5-32-544:F (this folder only), then rotate again')
    ConvertTo-Json -InputObject $result -Compress
    return
  }
  $path = 'Cert:\LocalMachine\Remote Desktop\{0}' -f $thumbprint
  if (Test-Path -LiteralPath $path) {
    try {
      Remove-Item -LiteralPath $path -DeleteKey
      $result.removed = @($path)
    } catch {
      # -DeleteKey must open the key first: a damaged key, or Windows' own key on Server 2019 and
      # later (which grants SYSTEM, NETWORK SERVICE and SessionEnv, not Administrators), does not
      # open for an admin. Then: the certificate as Microsoft's procedure removes it, and the key
      # file by name (Windows' container TSSecKeySet1 is f686aace..._<MachineGuid>, evidence 01
      # 1.1), which Administrators may delete through the folder's Full Control (KB 278381). Left
      # behind, it would block the new key: 1058 "object already exists" (evidence 02 2.9, 03 3.3).
      $result.keyError = $_.Exception.Message
      Remove-Item -LiteralPath $path
      $result.removed = @($path)
      $guid = [string](Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Cryptography' -Name 'MachineGuid').MachineGuid
      if ($guid -match '^[0-9A-Fa-f-]{36}\z') {
        $keyFile = Join-Path $env:ProgramData ('Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_' + $guid)
        if (Test-Path -LiteralPath $keyFile) {
          Remove-Item -LiteralPath $keyFile -Force
          $result.removed += $keyFile
        }
      }
    }
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
