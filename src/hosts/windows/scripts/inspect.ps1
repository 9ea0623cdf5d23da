# rdpcert inspect.ps1: what the RDP listener is configured to use. Windows PowerShell 5.1.
#
# Contract (schema 2), read by src/hosts/windows/inspection.ts:
# - input: JSON {"terminalName": "RDP-tcp", "eventDays": 30} in -InputJson (bootstrap.ps1
#   passes it from stdin) or on stdin. Parameters are data, validated before use,
#   never spliced into script text.
# - output: ONE compressed JSON document, ASCII only (anything else is written as
#   \uXXXX, so the console code page cannot garble a localized event message).
# - Each part is read on its own: a part that fails lands in "errors"
#   ({part, message, category}) and the others are still reported. Only bad
#   parameters end the script (exit 1, an error record on stderr).
# - Values go out as PowerShell has them: certificate bytes as base64, dates as
#   ConvertTo-Json writes them ("\/Date(ms)\/" in 5.1), numbers or null. Every
#   judgement is made in Node.

# Windows-only .NET, kept in small functions (the tests' Windows model replaces them).
function Test-RsaCertificateExtensions {
  # .NET 4.6 brought RSACertificateExtensions; Windows Server 2012 R2 without updates may lack it.
  $null -ne ('System.Security.Cryptography.X509Certificates.RSACertificateExtensions' -as [type])
}

$terminalName = 'RDP-tcp'
if ($null -ne $params -and $null -ne $params.terminalName) { $terminalName = [string]$params.terminalName }
# \z rather than $: in .NET, $ also matches before a trailing newline.
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
$eventDays = 30
if ($null -ne $params -and $null -ne $params.eventDays) { $eventDays = [int]$params.eventDays }
if ($eventDays -lt 1 -or $eventDays -gt 366) { throw 'eventDays must be between 1 and 366' }
$firewallSeconds = 10
if ($null -ne $params -and $null -ne $params.firewallSeconds) { $firewallSeconds = [int]$params.firewallSeconds }

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
      # 0 not valid, 1 default self-signed, 2 Group Policy template, 3 custom (KB 3042780).
      sslCertificateSha1HashType = $setting.SSLCertificateSHA1HashType
      securityLayer = $setting.SecurityLayer
      userAuthenticationRequired = $setting.UserAuthenticationRequired
    }
  }
} catch {
  $tsSettingError = $_.Exception.Message
  $tsSettingErrorCategory = [string]$_.CategoryInfo.Category
}

$winStations = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations'
$portNumber = $null
$registryHash = $null
$registryHashPresent = $null
try {
  $values = Get-ItemProperty -LiteralPath (Join-Path $winStations $terminalName)
  $portNumber = $values.PortNumber
  # Absent for Windows' default self-signed certificate; binary when set (KB 3042780).
  $registryHashPresent = $null -ne $values.PSObject.Properties['SSLCertificateSHA1Hash']
  if ($registryHashPresent) { $registryHash = (@($values.SSLCertificateSHA1Hash) | ForEach-Object { ([byte]$_).ToString('X2') }) -join '' }
} catch {
  Add-PartError 'portNumber' $_
}

# Other listeners: another WinStations key with its own PortNumber (and its own binding).
$listeners = New-Object 'System.Collections.Generic.List[object]'
try {
  foreach ($child in @(Get-ChildItem -LiteralPath $winStations)) {
    $name = [string]$child.PSChildName
    try {
      $port = (Get-ItemProperty -LiteralPath (Join-Path $winStations $name) -Name 'PortNumber').PortNumber
      $listeners.Add([ordered]@{ name = $name; port = $port })
    } catch {
      # 'Console' and other keys without PortNumber are not network listeners.
    }
  }
} catch {
  Add-PartError 'listeners' $_
}

# The configured certificate: Remote Desktop first (Windows' own), then My (a custom one).
$certificate = $null
$thumbprint = $null
if ($null -ne $tsSetting -and $tsSetting.sslCertificateSha1Hash) {
  $hash = $tsSetting.sslCertificateSha1Hash.Trim().ToUpperInvariant()
  if ($hash -cmatch '^[0-9A-F]{40}\z') { $thumbprint = $hash }
  else { Add-PartError -Part 'certificate' -Message 'SSLCertificateSHA1Hash is not 40 hexadecimal digits' }
}
$machineKeys = Join-Path $env:ProgramData 'Microsoft\Crypto\RSA\MachineKeys'
$cngKeys = Join-Path $env:ProgramData 'Microsoft\Crypto\Keys'
$sids = @{ system = 'S-1-5-18'; administrators = 'S-1-5-32-544'; networkService = 'S-1-5-20'; everyone = 'S-1-1-0'; authenticatedUsers = 'S-1-5-11'; users = 'S-1-5-32-545'; sessionEnv = 'S-1-5-80-4022436659-1090538466-1613889075-870485073-3428993833' }

function Get-CallerSids {
  # The account this runs as and its groups: an elevated administrator is not SYSTEM.
  $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
  @([string]$identity.User.Value) + @($identity.Groups | ForEach-Object { [string]$_.Value })
}

$build = $null
try { $build = [int](Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' -Name 'CurrentBuildNumber').CurrentBuildNumber } catch { Add-PartError 'build' $_ }

# The key folders: SessionEnv (LocalSystem) must be able to create Windows' new key there. The
# default MachineKeys ACL is Everyone (R,W) + Administrators Full Control with no SYSTEM entry
# (KB 278381; evidence 01 1.1), so no particular entry is required: only that SYSTEM's token
# (SYSTEM, Administrators, Everyone) may create a file (events 1057/1058 "Access is denied" otherwise).
$keyFolders = New-Object 'System.Collections.Generic.List[object]'
foreach ($folder in @($machineKeys, $cngKeys)) {
  try {
    $rights = Get-AllowedRights $folder
    $keyFolders.Add([ordered]@{
        path = $folder
        windowsCanCreate = (Test-Granted $rights @($sids.system, $sids.administrators, $sids.everyone, $sids.authenticatedUsers) 'write')
      })
  } catch {
    Add-PartError 'keyFolders' $_
  }
}

if ($null -ne $thumbprint) {
  try {
    foreach ($store in @('Remote Desktop', 'My')) {
      $path = 'Cert:\LocalMachine\{0}\{1}' -f $store, $thumbprint
      if (-not (Test-Path -LiteralPath $path)) { continue }
      $cert = Get-Item -LiteralPath $path
      $keyError = $null
      $keyProvider = $null
      $keyPath = $null
      $keyOpened = $null
      $keyFileExists = $null
      $access = $null
      $notChecked = $false
      if ($cert.HasPrivateKey) {
        # Opening the key tells whether it works, but only for this account: from Server 2019
        # (17763) Windows' own RDP key grants SYSTEM, NETWORK SERVICE and NT SERVICE\SessionEnv,
        # not Administrators (evidence 01 1.1, 1.7), so an elevated admin gets "Keyset does not
        # exist" on a healthy host. The key file's ACL says who else may read it.
        # CAPI keys: PrivateKey.CspKeyContainerInfo (MachineKeys); CNG keys: PrivateKey throws
        # on .NET Framework, and RSACertificateExtensions (.NET 4.6) gives the CNG key name.
        $containerName = $null
        try {
          $privateKey = $cert.PrivateKey
          if ($null -ne $privateKey -and $null -ne $privateKey.CspKeyContainerInfo) {
            $keyProvider = 'CAPI'
            $containerName = [string]$privateKey.CspKeyContainerInfo.UniqueKeyContainerName
            $keyOpened = $true
          }
        } catch {
          $keyError = $_.Exception.Message
        }
        if ($null -eq $keyProvider) {
          if (Test-RsaCertificateExtensions) {
            try {
              $containerName = Get-CngKeyName $cert
              if ($containerName) { $keyProvider = 'CNG'; $keyError = $null; $keyOpened = $true }
            } catch {
              $keyError = $_.Exception.Message
            }
          } else {
            $keyError = 'RSACertificateExtensions (.NET 4.6) is not available: the key could not be checked'
            $notChecked = $true
          }
        }
        if ($null -eq $containerName -and $store -eq 'Remote Desktop' -and $null -ne $keyError) {
          # Windows' own key, which this account could not open: its CAPI container TSSecKeySet1
          # always has the file f686aace6942fb7f7ceb231212eef4a4_<MachineGuid> (evidence 01 1.1, 1.9).
          try {
            $guid = [string](Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Cryptography' -Name 'MachineGuid').MachineGuid
            if ($guid -match '^[0-9A-Fa-f-]{36}\z') { $containerName = 'f686aace6942fb7f7ceb231212eef4a4_' + $guid; $keyProvider = 'CAPI' }
          } catch {
            Add-PartError 'keyAcl' $_
          }
        }
        if ($notChecked) { $keyOpened = $null } elseif ($null -ne $keyError) { $keyOpened = ($keyOpened -eq $true) }
        if ($containerName) {
          $folder = $machineKeys
          if ($keyProvider -eq 'CNG') { $folder = $cngKeys }
          $keyPath = Join-Path $folder $containerName
          try {
            $keyFileExists = [bool](Test-Path -LiteralPath $keyPath)
            if ($keyFileExists) {
              $rights = Get-AllowedRights $keyPath
              $caller = $null
              try { $caller = Test-Granted $rights @(Get-CallerSids) 'read' } catch { $caller = $null }
              $access = [ordered]@{
                networkService = (Test-Granted $rights $networkServiceToken 'read')
                sessionEnv = (Test-Granted $rights @($sids.sessionEnv) 'read')
                system = (Test-Granted $rights @($sids.system, $sids.administrators, $sids.everyone) 'read')
                caller = $caller
              }
            }
          } catch {
            Add-PartError 'keyAcl' $_
          }
        }
      }
      $opens = $null
      if ($null -ne $access) { $opens = $access.networkService }
      $certificate = [ordered]@{
        store = $store
        thumbprint = [string]$cert.Thumbprint
        rawData = [Convert]::ToBase64String($cert.RawData)
        hasPrivateKey = [bool]$cert.HasPrivateKey
        # Whether NETWORK SERVICE may read the key file (null: could not be checked).
        privateKeyOpens = $opens
        privateKeyError = $keyError
        # Whether the key opened for this account (null: not tried), whether its file exists, and who may read it.
        keyOpened = $keyOpened
        keyFileExists = $keyFileExists
        keyAccess = $access
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
  [ordered]@{ part = 'events:RemoteConnectionManager'; filter = @{ LogName = 'System'; ProviderName = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'; Id = @(1051, 1052, 1053, 1054, 1055, 1056, 1057, 1058, 1059, 1062, 1063, 1064, 1065); StartTime = $since } },
  [ordered]@{ part = 'events:Schannel'; filter = @{ LogName = 'System'; ProviderName = 'Schannel'; Id = @(36870); StartTime = $since } },
  # The listener's own channel: errors and warnings only (Level 2, 3), e.g. "The server security
  # layer detected an error (0x80090304) in the protocol stream" (windows-evidence/02 2.7).
  [ordered]@{ part = 'events:RemoteConnectionManager/Operational'; filter = @{ LogName = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational'; Level = @(2, 3); StartTime = $since } }
)
foreach ($query in $eventQueries) {
  $found = @()
  try {
    # Bounded: newest first, at most 2000 per query, so a flooded System log cannot outlast Node's timeout.
    $found = @(Get-WinEvent -FilterHashtable $query.filter -MaxEvents 2000)
  } catch {
    # "No events were found that match the specified selection criteria" is an answer, not an error.
    if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { Add-PartError $query.part $_ }
    continue
  }
  foreach ($group in @($found | Group-Object -Property Id)) {
    $newest = @($group.Group | Sort-Object -Property TimeCreated -Descending)[0]
    $message = [string]$newest.Message
    if ($message.Length -gt 1000) { $message = $message.Substring(0, 1000) }
    # The event data (Schannel 36870 names the credential's key container there): Node decides
    # whether a Schannel event concerns the RDP certificate, since Schannel serves every TLS server.
    $data = @()
    if ($null -ne $newest.PSObject.Properties['Properties']) { $data = @($newest.Properties | ForEach-Object { [string]$_.Value } | Select-Object -First 10) }
    $events.Add([ordered]@{ id = [int]$group.Name; provider = [string]$newest.ProviderName; log = [string]$query.filter.LogName; count = [int]$group.Count; newest = $newest.TimeCreated; message = $message; data = $data })
  }
}

$firewall = $null
try {
  # The group's resource id rather than its display name, which is localized.
  $rules = @(Get-NetFirewallRule -Group '@FirewallAPI.dll,-28752' | Where-Object { [string]$_.Direction -eq 'Inbound' })
  $firewall = [ordered]@{ rules = $rules.Count; enabled = @($rules | Where-Object { [string]$_.Enabled -eq 'True' }).Count; portRules = $null }
} catch {
  if ($_.CategoryInfo.Category -eq 'ObjectNotFound') { $firewall = [ordered]@{ rules = 0; enabled = 0 } }
  else { Add-PartError 'firewall' $_ }
}

# An admin's own enabled inbound allow rule for the port counts too.
if ($null -ne $firewall -and $null -ne $portNumber) {
  try {
    # Bounded: on a host with a thousand rules the port filters take a minute, which would sink the
    # whole inspection; past the budget the count is "not checked" (null) and said so.
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $count = 0
    foreach ($rule in @(Get-NetFirewallRule -Direction Inbound -Enabled True -Action Allow)) {
      if ($clock.Elapsed.TotalSeconds -gt $firewallSeconds) { $count = $null; break }
      if (@(($rule | Get-NetFirewallPortFilter).LocalPort) -contains [string]$portNumber) { $count++ }
    }
    $firewall.portRules = $count
    if ($null -eq $count) { Add-PartError -Part 'firewall' -Message ('the inbound allow rules for port {0} were not checked: more than {1} s' -f $portNumber, $firewallSeconds) }
  } catch {
    Add-PartError 'firewall' $_
  }
}

$result = [ordered]@{
  schema = 2
  terminalName = $terminalName
  eventDays = $eventDays
  tsSetting = $tsSetting
  tsSettingError = $tsSettingError
  tsSettingErrorCategory = $tsSettingErrorCategory
  portNumber = $portNumber
  registryHashPresent = $registryHashPresent
  registryHash = $registryHash
  listeners = $listeners
  build = $build
  keyFolders = $keyFolders
  certificate = $certificate
  services = $services
  events = $events
  firewall = $firewall
  errors = $partErrors
}
$json = ConvertTo-Json -InputObject $result -Depth 6 -Compress
[regex]::Replace($json, '[^\x00-\x7F]', [System.Text.RegularExpressions.MatchEvaluator]{ param($m) '\u{0:x4}' -f [int][char]$m.Value })
