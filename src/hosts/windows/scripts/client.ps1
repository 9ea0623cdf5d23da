# rdpcert: the Remote Desktop client state that the usual 0x904 advice says to delete
# by hand: Default.rdp, the bitmap cache, and the stored certificate trust for a host.
# With fix, each item is backed up first, then removed. Windows PowerShell 5.1, as the
# user who runs mstsc. Input (JSON): { host, fix, backupDir }.
# Default.rdp is a hidden file: every lookup uses -Force. When a file is locked (mstsc
# running), --fix stops there and the answer still lists what it had already removed.
$server = [string]$params.host
if ($server -and $server -notmatch '^[A-Za-z0-9._:\[\]-]+$') { throw "host '$server' is not a host name or address" }

$rdpFile = Join-Path ([Environment]::GetFolderPath('MyDocuments')) 'Default.rdp'
$cacheDir = Join-Path $env:LOCALAPPDATA 'Microsoft\Terminal Server Client\Cache'
$serversKey = 'HKCU:\Software\Microsoft\Terminal Server Client\Servers'

$result = [ordered]@{ defaultRdp = $null; cache = $null; server = $null; actions = @(); fixError = $null }
if (Test-Path -LiteralPath $rdpFile) {
  $item = Get-Item -LiteralPath $rdpFile -Force
  $result.defaultRdp = [ordered]@{ path = $rdpFile; bytes = $item.Length; modified = $item.LastWriteTimeUtc }
}
if (Test-Path -LiteralPath $cacheDir) {
  $files = @(Get-ChildItem -LiteralPath $cacheDir -File -Recurse -Force)
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
  try {
    New-Item -ItemType Directory -Path $backup -Force | Out-Null
    if ($result.defaultRdp) {
      Copy-Item -LiteralPath $rdpFile -Destination (Join-Path $backup 'Default.rdp') -Force
      Remove-Item -LiteralPath $rdpFile -Force
      $result.actions += [ordered]@{ item = $rdpFile; backup = (Join-Path $backup 'Default.rdp') }
    }
    if ($result.cache) {
      Copy-Item -LiteralPath $cacheDir -Destination (Join-Path $backup 'Cache') -Recurse -Force
      foreach ($file in @(Get-ChildItem -LiteralPath $cacheDir -File -Recurse -Force)) { Remove-Item -LiteralPath $file.FullName -Force }
      $result.actions += [ordered]@{ item = $cacheDir; backup = (Join-Path $backup 'Cache') }
    }
    if ($result.server) {
      # The values as JSON (CertHash as hex): enough to put them back with New-ItemProperty.
      $regFile = Join-Path $backup ('server-{0}.json' -f ($server -replace '[:\[\]]', '_'))
      $saved = [ordered]@{ key = $result.server.key; certHash = $result.server.certHash; usernameHint = $result.server.usernameHint }
      [System.IO.File]::WriteAllText($regFile, (ConvertTo-Json -InputObject $saved -Compress), (New-Object System.Text.UTF8Encoding -ArgumentList $false))
      Remove-Item -LiteralPath $result.server.key -Recurse -Force
      $result.actions += [ordered]@{ item = $result.server.key; backup = $regFile }
    }
  } catch {
    $result.fixError = $_.Exception.Message
  }
}
ConvertTo-Json -InputObject $result -Depth 4 -Compress
