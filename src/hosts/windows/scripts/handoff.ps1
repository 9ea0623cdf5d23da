# rdpcert handoff.ps1: run a rotation outside this RDP session, which restarting
# TermService would cut off. Registers a one-off task as SYSTEM that starts in 5 s, once.
# Windows PowerShell 5.1. Input (JSON): { taskName, execute, arguments }.
# The task runs on battery power too (a laptop or a UPS-backed host must not skip it),
# has a time limit, and deletes itself after it expired (an end boundary plus
# DeleteExpiredTaskAfter). execute is an absolute path; arguments are built by Node.
$name = [string]$params.taskName
if ($name -cnotmatch '^[A-Za-z0-9-]{1,64}\z') { throw 'taskName must be a plain task name' }
$execute = [string]$params.execute
# A drive-letter or UNC path: Windows searches the current directory before PATH for a bare name.
if ($execute -notmatch '^([A-Za-z]:\\|\\\\)') { throw 'execute must be an absolute path' }
$start = (Get-Date).AddSeconds(5)
$action = New-ScheduledTaskAction -Execute $execute -Argument ([string]$params.arguments)
$principal = New-ScheduledTaskPrincipal -UserId 'S-1-5-18' -LogonType ServiceAccount -RunLevel Highest
$trigger = New-ScheduledTaskTrigger -Once -At $start
$trigger.EndBoundary = $start.AddHours(2).ToString('s')
$settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit (New-TimeSpan -Hours 1) -DeleteExpiredTaskAfter (New-TimeSpan -Minutes 5)
# The one-off trigger starts it, once: Start-ScheduledTask as well would run it a second time.
Register-ScheduledTask -TaskName $name -Action $action -Principal $principal -Trigger $trigger -Settings $settings -Force | Out-Null
ConvertTo-Json -InputObject ([ordered]@{ taskName = $name; started = $start.ToUniversalTime().ToString('o') }) -Compress
