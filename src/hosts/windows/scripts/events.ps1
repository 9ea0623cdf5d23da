# rdpcert events.ps1: did Windows fall back from the configured certificate? Windows PowerShell 5.1.
# Input (JSON): { sinceMs, ids }: milliseconds since 1970 (UTC) and the event ids, by default
# 1051, 1055 and 1059 of TerminalServices-RemoteConnectionManager in the System log (the
# configured certificate was unusable and the listener fell back to its self-signed one;
# Microsoft's article "Troubleshoot RDP connection issues by Event ID").
# Output: one JSON document { events: [{ id, time, message }] }, newest first, at most 20.
$ids = @(1051, 1055, 1059)
if ($null -ne $params.ids) { $ids = @($params.ids | ForEach-Object { [int]$_ }) }
# A number, not a date string: 5.1 and 7 parse date strings differently; DateTime(1970) works on .NET 4.5 too.
$since = (New-Object DateTime 1970, 1, 1, 0, 0, 0, ([DateTimeKind]::Utc)).AddMilliseconds([double]$params.sinceMs).ToLocalTime()
$found = @()
try {
  $found = @(Get-WinEvent -FilterHashtable @{ LogName = 'System'; ProviderName = 'Microsoft-Windows-TerminalServices-RemoteConnectionManager'; Id = $ids; StartTime = $since } -MaxEvents 20 -ErrorAction Stop)
} catch {
  # "No events were found" is an error record for Get-WinEvent.
  if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { throw }
}
$events = @($found | ForEach-Object { [ordered]@{ id = [int]$_.Id; time = $_.TimeCreated.ToUniversalTime().ToString('o'); message = ([string]$_.Message).Split("`n")[0].Trim() } })
ConvertTo-Json -InputObject ([ordered]@{ events = $events }) -Depth 4 -Compress
