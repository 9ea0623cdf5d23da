# rdpcert: mstsc's certificate pin for one server (issue 25), read and, with write, set.
# Windows PowerShell 5.1, as the user who runs mstsc (HKCU). Input (JSON):
#   { server: "<name as mstsc keys it>", certHash: "<40 hex: the SHA-1 to pin>" | null, write: bool }
# The pin is HKCU\Software\Microsoft\Terminal Server Client\Servers\<server>, value
# CertHash, REG_BINARY, the 20 bytes of the certificate's SHA-1 (Microsoft does not
# document the value: docs/client-trust.md says what is unverified on a real client).
# The key is created only when missing: New-Item -Force on an existing registry key
# recreates it and loses its other values, such as UsernameHint (PowerShell issue #5444).
# Output: { key, before, after } with the hashes as upper-case hex, or null.
$server = [string]$params.server
if ($server -notmatch '^[A-Za-z0-9._:\[\]-]+$') { throw "server '$server' is not a host name or address" }
$wanted = [string]$params.certHash
if ($params.write -and $wanted -notmatch '^[0-9A-Fa-f]{40}$') { throw 'certHash is not 40 hexadecimal digits' }

$key = 'HKCU:\Software\Microsoft\Terminal Server Client\Servers\' + $server

function Read-CertHash([string]$Path) {
  if (-not (Test-Path -LiteralPath $Path)) { return $null }
  $values = Get-ItemProperty -LiteralPath $Path
  if ($null -eq $values.CertHash) { return $null }
  return (($values.CertHash | ForEach-Object { ([byte]$_).ToString('X2') }) -join '')
}

$before = Read-CertHash $key
$after = $before
if ($params.write) {
  # [Convert]::FromHexString is .NET 5+; 5.1 runs on .NET Framework.
  $bytes = New-Object byte[] 20
  for ($i = 0; $i -lt 20; $i++) { $bytes[$i] = [Convert]::ToByte($wanted.Substring($i * 2, 2), 16) }
  if (-not (Test-Path -LiteralPath $key)) { New-Item -Path $key -Force | Out-Null }
  New-ItemProperty -LiteralPath $key -Name 'CertHash' -PropertyType Binary -Value $bytes -Force | Out-Null
  $after = Read-CertHash $key
}
ConvertTo-Json -Compress -InputObject ([ordered]@{ key = $key; before = $before; after = $after })
