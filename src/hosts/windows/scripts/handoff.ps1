# rdpcert: run a rotation outside this RDP session, which restarting TermService
# would cut off. Registers a one-off task as SYSTEM and starts it now.
# Windows PowerShell 5.1. stdin JSON: { taskName, execute, arguments, logPath }.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$params = [Console]::In.ReadToEnd() | ConvertFrom-Json
$name = [string]$params.taskName
if ($name -notmatch '^[A-Za-z0-9-]+$') { throw "taskName '$name' is not a plain task name" }
$action = New-ScheduledTaskAction -Execute ([string]$params.execute) -Argument ([string]$params.arguments)
$principal = New-ScheduledTaskPrincipal -UserId 'S-1-5-18' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -ExecutionTimeLimit (New-TimeSpan -Hours 1)
Register-ScheduledTask -TaskName $name -Action $action -Principal $principal -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName $name
[ordered]@{ taskName = $name; started = (Get-Date).ToString('o') } | ConvertTo-Json -Compress
