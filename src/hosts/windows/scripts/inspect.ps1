# rdpcert inspect.ps1: what the RDP listener is configured to use. Windows PowerShell 5.1.
#
# Contract (schema 1), read by src/hosts/windows/inspection.ts:
# - stdin: JSON {"terminalName": "RDP-tcp", "eventDays": 30}. Parameters are data,
#   validated before use, never spliced into script text.
# - stdout: ONE compressed JSON document, ASCII only (anything else is written as
#   \uXXXX, so the console code page cannot garble a localized event message).
# - Each part is read on its own: a part that fails lands in "errors"
#   ({part, message, category}) and the others are still reported. Only bad
#   parameters end the script (exit 1, an error record on stderr).
# - Values go out as PowerShell has them: certificate bytes as base64, dates as
#   ConvertTo-Json writes them ("\/Date(ms)\/" in 5.1), numbers or null. Every
#   judgement is made in Node.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$stdin = [Console]::In.ReadToEnd()
$params = $null
if (-not [string]::IsNullOrWhiteSpace($stdin)) { $params = $stdin | ConvertFrom-Json }

$terminalName = 'RDP-tcp'
if ($null -ne $params -and $null -ne $params.terminalName) { $terminalName = [string]$params.terminalName }
# \z rather than $: in .NET, $ also matches before a trailing newline.
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
$eventDays = 30
if ($null -ne $params -and $null -ne $params.eventDays) { $eventDays = [int]$params.eventDays }
if ($eventDays -lt 1 -or $eventDays -gt 366) { throw 'eventDays must be between 1 and 366' }

$partErrors = New-Object 'System.Collections.Generic.List[object]'
function Add-PartError([string]$Part, $Record, [string]$Message) {
  $category = 'InvalidData'
  if ($null -ne $Record) {
    $Message = $Record.Exception.Message
    $category = [string]$Record.CategoryInfo.Category
  }
  $partErrors.Add([ordered]@{ part = $Part; message = $Message; category = $category })
}

# Win32_TSGeneralSetting: the configured thumbprint, security layer and NLA.
$tsSetting = $null
$tsSettingError = $null
$tsSettingErrorCategory = $null
try {
  $filter = "TerminalName='{0}'" -f $terminalName
  $setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter $filter | Select-Object -First 1
  if ($null -ne $setting) {
    $tsSetting = [ordered]@{
      terminalName = [string]$setting.TerminalName
      sslCertificateSha1Hash = [string]$setting.SSLCertificateSHA1Hash
      securityLayer = $setting.SecurityLayer
      userAuthenticationRequired = $setting.UserAuthenticationRequired
    }
  }
} catch {
  $tsSettingError = $_.Exception.Message
  $tsSettingErrorCategory = [string]$_.CategoryInfo.Category
}

$portNumber = $null
try {
  $winStation = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f $terminalName
  $portNumber = (Get-ItemProperty -LiteralPath $winStation -Name 'PortNumber').PortNumber
} catch {
  Add-PartError 'portNumber' $_
}

# The configured certificate: Remote Desktop first (Windows' own), then My (a custom one).
$certificate = $null
$thumbprint = $null
if ($null -ne $tsSetting -and $tsSetting.sslCertificateSha1Hash) {
  $hash = $tsSetting.sslCertificateSha1Hash.Trim().ToUpperInvariant()
  if ($hash -cmatch '^[0-9A-F]{40}\z') { $thumbprint = $hash }
  else { Add-PartError -Part 'certificate' -Message 'SSLCertificateSHA1Hash is not 40 hexadecimal digits' }
}
if ($null -ne $thumbprint) {
  try {
    foreach ($store in @('Remote Desktop', 'My')) {
      $path = 'Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint
      if (-not (Test-Path -LiteralPath $path)) { continue }
      $cert = Get-Item -LiteralPath $path
      $opens = $null
      $keyError = $null
      $keyProvider = $null
      $keyPath = $null
      if ($cert.HasPrivateKey) {
        $key = $null
        try {
          $key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)
          if ($null -eq $key) { $key = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($cert) }
          if ($null -eq $key) { $keyError = 'the private key is neither RSA nor ECDSA' } else { $opens = $true }
        } catch {
          $opens = $false
          $keyError = $_.Exception.Message
        }
        if ($opens) {
          # Optional: the key file, so that a fix can name the file whose ACL matters.
          try {
            if ($key -is [System.Security.Cryptography.RSACng] -or $key -is [System.Security.Cryptography.ECDsaCng]) {
              $keyProvider = 'CNG'
              $keyPath = Join-Path $env:ProgramData ('Microsoft\Crypto\Keys\' + $key.Key.UniqueName)
            } elseif ($key -is [System.Security.Cryptography.RSACryptoServiceProvider]) {
              $keyProvider = 'CAPI'
              $keyPath = Join-Path $env:ProgramData ('Microsoft\Crypto\RSA\MachineKeys\' + $key.CspKeyContainerInfo.UniqueKeyContainerName)
            }
            if ($null -ne $keyPath -and -not (Test-Path -LiteralPath $keyPath)) { $keyPath = $null }
          } catch {
            $keyPath = $null
          }
        }
      }
      $certificate = [ordered]@{
        store = $store
        thumbprint = [string]$cert.Thumbprint
        rawData = [Convert]::ToBase64String($cert.RawData)
        hasPrivateKey = [bool]$cert.HasPrivateKey
        privateKeyOpens = $opens
        privateKeyError = $keyError
        keyProvider = $keyProvider
        keyPath = $keyPath
      }
      break
    }
  } catch {
    Add-PartError 'certificate' $_
  }
}

$services = New-Object 'System.Collections.Generic.List[object]'
foreach ($name in @('TermService', 'SessionEnv', 'UmRdpService')) {
  try {
    $service = Get-Service -Name $name
    $services.Add([ordered]@{ name = $name; status = [string]$service.Status; startType = [string]$service.StartType })
  } catch {
    if ($_.CategoryInfo.Category -eq 'ObjectNotFound') {
      $services.Add([ordered]@{ name = $name; status = 'Missing'; startType = $null })
    } else {
      Add-PartError ('service:' + $name) $_
    }
  }
}

# Per event id: how many in the window, and the newest one's time and message.
$events = New-Object 'System.Collections.Generic.List[object]'
$since = (Get-Date).AddDays(-$eventDays)
$eventQueries = @(
  [ordered]@{ part = 'events:RemoteConnectionManager'; filter = @{ LogName = 'System'; ProviderName = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'; Id = @(1051, 1055, 1056, 1057, 1058, 1059); StartTime = $since } },
  [ordered]@{ part = 'events:Schannel'; filter = @{ LogName = 'System'; ProviderName = 'Schannel'; Id = @(36870); StartTime = $since } }
)
foreach ($query in $eventQueries) {
  $found = @()
  try {
    $found = @(Get-WinEvent -FilterHashtable $query.filter)
  } catch {
    # "No events were found that match the specified selection criteria" is an answer, not an error.
    if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { Add-PartError $query.part $_ }
    continue
  }
  foreach ($group in @($found | Group-Object -Property Id)) {
    $newest = @($group.Group | Sort-Object -Property TimeCreated -Descending)[0]
    $message = [string]$newest.Message
    if ($message.Length -gt 1000) { $message = $message.Substring(0, 1000) }
    $events.Add([ordered]@{ id = [int]$group.Name; provider = [string]$newest.ProviderName; count = [int]$group.Count; newest = $newest.TimeCreated; message = $message })
  }
}

$firewall = $null
try {
  # The group's resource id rather than its display name, which is localized.
  $rules = @(Get-NetFirewallRule -Group '@FirewallAPI.dll,-28752' | Where-Object { [string]$_.Direction -eq 'Inbound' })
  $firewall = [ordered]@{ rules = $rules.Count; enabled = @($rules | Where-Object { [string]$_.Enabled -eq 'True' }).Count }
} catch {
  if ($_.CategoryInfo.Category -eq 'ObjectNotFound') { $firewall = [ordered]@{ rules = 0; enabled = 0 } }
  else { Add-PartError 'firewall' $_ }
}

$result = [ordered]@{
  schema = 1
  terminalName = $terminalName
  eventDays = $eventDays
  tsSetting = $tsSetting
  tsSettingError = $tsSettingError
  tsSettingErrorCategory = $tsSettingErrorCategory
  portNumber = $portNumber
  certificate = $certificate
  services = $services
  events = $events
  firewall = $firewall
  errors = $partErrors
}
$json = ConvertTo-Json -InputObject $result -Depth 6 -Compress
[regex]::Replace($json, '[^\x00-\x7F]', [System.Text.RegularExpressions.MatchEvaluator]{ param($m) '\u{0:x4}' -f [int][char]$m.Value })
