# rdpcert prelude.ps1: what every script that bootstrap.ps1 runs starts with. Windows PowerShell 5.1.
#
# bootstrap.ps1 dot-sources this file's text in a fresh scope, then runs the named script in a
# child of that scope: the script sees the preferences, $params and the helpers below (PowerShell's
# scopes are dynamic). The Pester harness (test/windows/Scripts.Tests.ps1) runs them the same way.
# Input (JSON): -InputJson (bootstrap.ps1 passes its envelope's "input"), or stdin when empty.
# $params: the parsed input, $null when there is none.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'
if ([string]::IsNullOrEmpty($InputJson)) { $InputJson = [Console]::In.ReadToEnd() }
$params = $null
if (-not [string]::IsNullOrWhiteSpace($InputJson)) { $params = $InputJson | ConvertFrom-Json }

# Windows-only, kept in small functions (the tests' Windows model replaces them).
# icacls by absolute path: Windows searches the current directory before PATH.
function Grant-NetworkServiceRead([string]$Path) {
  $icacls = Join-Path $env:SystemRoot 'System32\icacls.exe'
  # Windows PowerShell 5.1 turns the first line a native command writes to a redirected stderr
  # into a terminating NativeCommandError under 'Stop' (windows-evidence/06): 'Continue' in this
  # function's scope, and the exit code decides.
  $ErrorActionPreference = 'Continue'
  $output = & $icacls $Path '/grant' '*S-1-5-20:(R)' 2>&1
  $code = $LASTEXITCODE
  if ($code -ne 0) { throw ('icacls failed ({0}): {1}' -f $code, ((@($output) | ForEach-Object { [string]$_ }) -join ' ')) }
}
# The CNG key name of a certificate's private key (its file under Crypto\Keys), $null for a CAPI key.
function Get-CngKeyName($Certificate) {
  $key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate)
  # ECDsaCertificateExtensions came with .NET Framework 4.6.1.
  if ($null -eq $key -and $null -ne ('System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions' -as [type])) { $key = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Certificate) }
  if ($null -eq $key -or $null -eq $key.Key) { return $null }
  return [string]$key.Key.UniqueName
}

# ---- ACL reading (deploy.ps1, inspect.ps1) ----
function Get-AllowedRights([string]$Path) {
  # Allow rules by SID (account names are localized): SID -> access mask (0..0xFFFFFFFF).
  # FileSystemRights is an Int32 enum, so the generic bits come out negative: made unsigned here.
  $rights = @{}
  $acl = Get-Acl -LiteralPath $Path
  foreach ($rule in @($acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier]))) {
    if ([string]$rule.AccessControlType -ne 'Allow') { continue }
    $sid = [string]$rule.IdentityReference.Value
    $bits = [long][int]$rule.FileSystemRights
    if ($bits -lt 0) { $bits += 4294967296 }
    if ($rights.ContainsKey($sid)) { $rights[$sid] = $rights[$sid] -bor $bits } else { $rights[$sid] = $bits }
  }
  return $rights
}
function Test-Granted($Rights, [string[]]$Sids, [string]$Want) {
  # Whether the entries for any of these SIDs (one token) add up to the right: 'read' is
  # ReadData (1), GENERIC_READ or GENERIC_ALL; 'write' is WriteData (2, create a file),
  # GENERIC_WRITE or GENERIC_ALL. Windows may split one grant into several entries (evidence 01 1.1).
  $mask = [long]0
  foreach ($sid in $Sids) { if ($Rights.ContainsKey($sid)) { $mask = $mask -bor $Rights[$sid] } }
  $generic = [long]268435456
  if ($Want -eq 'read') { $generic += [long]2147483648; $specific = 1 } else { $generic += [long]1073741824; $specific = 2 }
  return ((($mask -band $specific) -ne 0) -or (($mask -band $generic) -ne 0))
}
# A token's groups: every account has Everyone, Authenticated Users and Users.
$networkServiceToken = @('S-1-5-20', 'S-1-1-0', 'S-1-5-11', 'S-1-5-32-545')
# ---- end of the ACL reading ----
