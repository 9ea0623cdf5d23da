# rdpcert restart.ps1: restart Remote Desktop so that Windows issues (or reloads) its
# listener certificate. Windows PowerShell 5.1. Input (JSON): { oldThumbprint,
# terminalName, expectNewCertificate, serviceWaitSeconds, certificateWaitSeconds }.
# Output: one JSON document: { restarted, thumbprint, failureEvents, stuck, fix }.
#
# - SessionEnv first (Microsoft's documented step); only if no new certificate appears,
#   stop UmRdpService (which depends on TermService; stopping it first keeps TermService
#   from hanging in Stopping), then restart TermService. Which restart suffices on each
#   Windows version is unconfirmed: Node verifies by handshake either way.
# - Every wait is bounded: ServiceController.WaitForStatus with a timeout, never
#   Restart-Service/Stop-Service, which wait without bound and print
#   "WARNING: Waiting for service ..." every 2 s. Worst case:
#   5 x serviceWaitSeconds + 2 x certificateWaitSeconds (Node's timeout is above it).
# - After each restart, a new 1057/1058 event (Windows failed to create/replace the
#   certificate) ends the wait at once, quoted in failureEvents.
# - A service stuck in StopPending is reported (stuck, fix), not waited on for ever.
$old = ([string]$params.oldThumbprint).ToUpperInvariant()
$terminalName = 'RDP-Tcp'
if ($params.terminalName) { $terminalName = [string]$params.terminalName }
if ($terminalName -cnotmatch '^[A-Za-z0-9#-]{1,32}\z') { throw 'terminalName must be 1 to 32 letters, digits, # or -' }
$serviceWait = 20
if ($params.serviceWaitSeconds) { $serviceWait = [int]$params.serviceWaitSeconds }
$certificateWait = 15
if ($params.certificateWaitSeconds) { $certificateWait = [int]$params.certificateWaitSeconds }
$expectNew = $true
if ($null -ne $params.expectNewCertificate) { $expectNew = [bool]$params.expectNewCertificate }
# false inside an RDP session (a deploy's rollback runs there): restarting TermService would cut it.
$allowTermService = $true
if ($null -ne $params.allowTermService) { $allowTermService = [bool]$params.allowTermService }

# Functions below set keys of this dictionary (one shared object): never $script:result, since
# bootstrap.ps1 runs this file as a script block, which has no script scope of its own.
$result = [ordered]@{ restarted = @(); thumbprint = $null; failureEvents = @(); stuck = $null; fix = $null }

function Get-ListenerThumbprint {
  $setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter ("TerminalName='{0}'" -f $terminalName)
  ([string]$setting.SSLCertificateSHA1Hash).ToUpperInvariant()
}

function Get-FailureEvents([datetime]$Since) {
  try {
    $found = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; ProviderName = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'; Id = @(1057, 1058); StartTime = $Since } -MaxEvents 20 -ErrorAction Stop)
  } catch {
    if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') { return @() }
    throw
  }
  return @($found | ForEach-Object { [ordered]@{ id = [int]$_.Id; time = $_.TimeCreated.ToUniversalTime().ToString('o'); message = ([string]$_.Message).Split("`n")[0].Trim() } })
}

function Wait-Certificate([datetime]$Since) {
  # A certificate other than the old one, installed in Remote Desktop or My; or, when none is
  # expected (a dangling binding was cleared), any installed one. Fails fast on 1057/1058.
  $deadline = (Get-Date).AddSeconds($certificateWait)
  while ($true) {
    $now = Get-ListenerThumbprint
    if ($now -and ((-not $expectNew) -or $now -ne $old)) {
      foreach ($store in @('Remote Desktop', 'My')) {
        if (Test-Path -LiteralPath ('Cert:\LocalMachine\{0}\{1}' -f $store, $now)) { return $now }
      }
    }
    $failures = @(Get-FailureEvents $Since)
    if ($failures.Count -gt 0) { $result.failureEvents = $failures; return $null }
    if ((Get-Date) -ge $deadline) { return $null }
    Start-Sleep -Milliseconds 500
  }
}

# .NET Framework's ServiceController.Stop() first stops every running dependent, and nothing
# starts them again: they are noted here and started after the service (Start-Dependents).
$stoppedDependents = New-Object 'System.Collections.Generic.List[string]'

function Stop-Bounded([string]$Name) {
  $service = Get-Service -Name $Name
  if ([string]$service.Status -eq 'Stopped') { return $true }
  try {
    foreach ($dependent in @($service.DependentServices)) {
      if ($null -ne $dependent -and [string]$dependent.Status -eq 'Running' -and -not $stoppedDependents.Contains([string]$dependent.ServiceName)) { $stoppedDependents.Add([string]$dependent.ServiceName) }
    }
    if ([string]$service.Status -ne 'StopPending') { $service.Stop() }
    $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds($serviceWait))
    return $true
  } catch {
    $result.stuck = $Name
    $result.fix = ('{0} did not stop within {1} s (stuck in {2}): end its process (sc.exe queryex {0}, then taskkill /PID <pid> /F) or reboot, then run rdpcert status' -f $Name, $serviceWait, [string](Get-Service -Name $Name).Status)
    return $false
  }
}

function Test-Startable([string]$Name) {
  # Checked before stopping it: a Disabled service would stay stopped. StartType came with
  # .NET Framework 4.6.1; without it, Start() says so itself.
  $service = Get-Service -Name $Name
  if ($null -ne $service.PSObject.Properties['StartType'] -and [string]$service.StartType -eq 'Disabled') {
    $result.stuck = $Name
    $result.fix = ('{0} is Disabled, so Windows cannot start it (nor issue its certificate): Set-Service {0} -StartupType Manual (its default), then rdpcert rotate again' -f $Name)
    return $false
  }
  return $true
}

function Start-Bounded([string]$Name) {
  if (-not (Test-Startable $Name)) { return $false }
  $service = Get-Service -Name $Name
  try {
    if ([string]$service.Status -ne 'Running') { $service.Start() }
    $service.WaitForStatus('Running', [TimeSpan]::FromSeconds($serviceWait))
    return $true
  } catch {
    $result.stuck = $Name
    $result.fix = ('{0} did not start within {1} s ({2}): Start-Service {0}; if it fails with error 1068, start the services it depends on' -f $Name, $serviceWait, $_.Exception.Message.Split([char]10)[0].Trim())
    return $false
  }
}

function Start-Dependents {
  # The dependents Stop() took down with a service, in the order they were running.
  foreach ($name in @($stoppedDependents)) {
    if ([string](Get-Service -Name $name).Status -ne 'Running') { [void](Start-Bounded $name) }
  }
}

$since = Get-Date
if ((Test-Startable 'SessionEnv') -and (Stop-Bounded 'SessionEnv') -and (Start-Bounded 'SessionEnv')) {
  $result.restarted += 'SessionEnv'
  Start-Dependents
  $result.thumbprint = Wait-Certificate $since
}
if (-not $result.thumbprint -and -not $result.stuck -and $result.failureEvents.Count -eq 0 -and -not $allowTermService) {
  $result.fix = 'TermService was not restarted: this runs inside an RDP session, which that restart would cut; run rdpcert status from the console (or from the session: it hands the work to a SYSTEM task)'
} elseif (-not $result.thumbprint -and -not $result.stuck -and $result.failureEvents.Count -eq 0) {
  $since = Get-Date
  $umRdp = Get-Service -Name 'UmRdpService' -ErrorAction SilentlyContinue
  $ok = $true
  if ($null -ne $umRdp) { $ok = Stop-Bounded 'UmRdpService' }
  if ($ok -and (Test-Startable 'TermService') -and (Stop-Bounded 'TermService') -and (Start-Bounded 'TermService')) {
    $result.restarted += 'TermService'
    if ($null -ne $umRdp) { [void](Start-Bounded 'UmRdpService') }
    Start-Dependents
    $result.thumbprint = Wait-Certificate $since
  }
}
ConvertTo-Json -InputObject $result -Depth 4 -Compress
