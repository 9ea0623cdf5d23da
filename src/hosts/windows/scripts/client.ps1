# rdpcert: the Remote Desktop client state that the usual 0x904 advice says to delete
# by hand: Default.rdp, the bitmap cache, and the stored certificate trust for a host.
# With fix, each item is backed up first, then removed. Windows PowerShell 5.1, as the
# user who runs mstsc. stdin JSON: { host, fix, backupDir }.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$params = [Console]::In.ReadToEnd() | ConvertFrom-Json
$server = [string]$params.host
if ($server -and $server -notmatch '^[A-Za-z0-9._:\[\]-]+$') { throw "host '$server' is not a host name or address" }

$rdpFile = Join-Path ([Environment]::GetFolderPath('MyDocuments')) 'Default.rdp'
$cacheDir = Join-Path $env:LOCALAPPDATA 'Microsoft\Terminal Server Client\Cache'
$serversKey = 'HKCU:\Software\Microsoft\Terminal Server Client\Servers'

$result = [ordered]@{ defaultRdp = $null; cache = $null; server = $null; actions = @() }
if (Test-Path -LiteralPath $rdpFile) {
  $item = Get-Item -LiteralPath $rdpFile
  $result.defaultRdp = [ordered]@{ path = $rdpFile; bytes = $item.Length; modified = $item.LastWriteTimeUtc }
}
if (Test-Path -LiteralPath $cacheDir) {
  $files = @(Get-ChildItem -LiteralPath $cacheDir -File -Recurse)
  $result.cache = [ordered]@{ path = $cacheDir; files = $files.Count; bytes = ($files | Measure-Object -Property Length -Sum).Sum }
}
if ($server) {
  $key = Join-Path $serversKey $server
  if (Test-Path -LiteralPath $key) {
    $values = Get-ItemProperty -LiteralPath $key
    $hash = $null
    if ($values.CertHash) { $hash = ($values.CertHash | ForEach-Object { $_.ToString('X2') }) -join '' }
    $result.server = [ordered]@{ key = $key; certHash = $hash; usernameHint = [string]$values.UsernameHint }
  }
}

if ($params.fix) {
  $backup = [string]$params.backupDir
  New-Item -ItemType Directory -Path $backup -Force | Out-Null
  if ($result.defaultRdp) {
    Copy-Item -LiteralPath $rdpFile -Destination (Join-Path $backup 'Default.rdp')
    Remove-Item -LiteralPath $rdpFile -Force
    $result.actions += [ordered]@{ item = $rdpFile; backup = (Join-Path $backup 'Default.rdp') }
  }
  if ($result.cache) {
    Copy-Item -LiteralPath $cacheDir -Destination (Join-Path $backup 'Cache') -Recurse
    Get-ChildItem -LiteralPath $cacheDir -File -Recurse | Remove-Item -Force
    $result.actions += [ordered]@{ item = $cacheDir; backup = (Join-Path $backup 'Cache') }
  }
  if ($result.server) {
    $regFile = Join-Path $backup ('server-{0}.reg' -f ($server -replace '[:\[\]]', '_'))
    & reg.exe export ('HKCU\Software\Microsoft\Terminal Server Client\Servers\{0}' -f $server) $regFile /y | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "reg.exe export failed ($LASTEXITCODE); nothing removed for $server" }
    Remove-Item -LiteralPath $result.server.key -Recurse -Force
    $result.actions += [ordered]@{ item = $result.server.key; backup = $regFile }
  }
}
$result | ConvertTo-Json -Depth 4 -Compress
