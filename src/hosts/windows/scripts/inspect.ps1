# rdpcert: what the RDP-Tcp listener is configured to use. Windows PowerShell 5.1.
# Parameters arrive as JSON on stdin (never spliced into this text); the answer is
# one JSON document on stdout. Raw certificate bytes travel as base64 and every
# judgement is made in Node. Each part is read on its own, so one failing part
# (say, the event log) is reported without losing the rest.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$params = [Console]::In.ReadToEnd() | ConvertFrom-Json
$terminalName = 'RDP-tcp'
if ($params.terminalName) { $terminalName = [string]$params.terminalName }
if ($terminalName -notmatch '^[A-Za-z0-9#-]+$') { throw "terminalName '$terminalName' is not a listener name" }
$eventDays = 30
if ($params.eventDays) { $eventDays = [int]$params.eventDays }

$result = [ordered]@{
  schema = 1
  tsSetting = $null
  tsSettingError = $null
  portNumber = $null
  portError = $null
  certificate = $null
  certificateError = $null
  services = @()
  events = @()
  eventsError = $null
  firewall = $null
  firewallError = $null
}

try {
  $setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter ("TerminalName='{0}'" -f $terminalName)
  if ($setting) {
    $result.tsSetting = [ordered]@{
      terminalName = [string]$setting.TerminalName
      sslCertificateSha1Hash = [string]$setting.SSLCertificateSHA1Hash
      securityLayer = [int]$setting.SecurityLayer
      userAuthenticationRequired = [int]$setting.UserAuthenticationRequired
    }
  }
} catch {
  $result.tsSettingError = $_.Exception.Message
}

try {
  $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\{0}' -f $terminalName
  $result.portNumber = [int](Get-ItemProperty -Path $key -Name 'PortNumber').PortNumber
} catch {
  $result.portError = $_.Exception.Message
}

if ($result.tsSetting -and $result.tsSetting.sslCertificateSha1Hash) {
  $thumbprint = $result.tsSetting.sslCertificateSha1Hash.ToUpperInvariant()
  try {
    foreach ($store in @('Remote Desktop', 'My')) {
      $path = 'Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint
      if (-not (Test-Path -LiteralPath $path)) { continue }
      $cert = Get-Item -LiteralPath $path
      $opens = $false
      $keyError = $null
      if ($cert.HasPrivateKey) {
        try {
          $rsa = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($cert)
          if ($rsa) { $opens = $true } else {
            $ecdsa = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($cert)
            if ($ecdsa) { $opens = $true } else { $keyError = 'the private key is neither RSA nor ECDSA' }
          }
        } catch {
          $keyError = $_.Exception.Message
        }
      }
      $result.certificate = [ordered]@{
        store = $store
        thumbprint = $cert.Thumbprint
        rawData = [Convert]::ToBase64String($cert.RawData)
        hasPrivateKey = [bool]$cert.HasPrivateKey
        privateKeyOpens = $opens
        privateKeyError = $keyError
      }
      break
    }
  } catch {
    $result.certificateError = $_.Exception.Message
  }
}

foreach ($name in @('TermService', 'SessionEnv', 'UmRdpService')) {
  try {
    $service = Get-Service -Name $name
    $result.services += [ordered]@{ name = $name; status = [string]$service.Status; startType = [string]$service.StartType }
  } catch {
    $result.services += [ordered]@{ name = $name; status = 'Missing'; startType = $null }
  }
}

try {
  $since = (Get-Date).AddDays(-$eventDays)
  $filters = @(
    @{ LogName = 'System'; ProviderName = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'; Id = 1051, 1055, 1056, 1057, 1058, 1059; StartTime = $since },
    @{ LogName = 'System'; ProviderName = 'Schannel'; Id = 36870; StartTime = $since }
  )
  foreach ($filter in $filters) {
    try {
      $found = Get-WinEvent -FilterHashtable $filter -ErrorAction Stop
    } catch [System.Exception] {
      # "No events were found that match the specified selection criteria" is not an error.
      if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') { continue }
      throw
    }
    foreach ($group in ($found | Group-Object -Property Id)) {
      $newest = $group.Group | Sort-Object -Property TimeCreated -Descending | Select-Object -First 1
      $result.events += [ordered]@{ id = [int]$group.Name; count = $group.Count; newest = $newest.TimeCreated; message = [string]$newest.Message }
    }
  }
} catch {
  $result.eventsError = $_.Exception.Message
}

try {
  $rules = Get-NetFirewallRule -DisplayGroup 'Remote Desktop' | Where-Object { $_.Direction -eq 'Inbound' }
  $result.firewall = [ordered]@{ rules = @($rules).Count; enabled = @($rules | Where-Object { $_.Enabled -eq 'True' }).Count }
} catch {
  $result.firewallError = $_.Exception.Message
}

$result | ConvertTo-Json -Depth 6 -Compress
