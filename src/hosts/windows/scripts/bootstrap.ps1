# rdpcert bootstrap.ps1: how Node runs every other script. Windows PowerShell 5.1.
#
# Node starts %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe (by absolute
# path: Windows searches the current directory before PATH) with this file's text
# as -EncodedCommand: a Group Policy execution policy (AllSigned, RemoteSigned on a
# downloaded zip) beats -ExecutionPolicy Bypass for -File, but does not apply to
# -EncodedCommand or to script blocks created from text.
#
# stdin: one UTF-8 JSON document {"script": "<absolute path of a .ps1 shipped with
# rdpcert>", "input": <the script's parameters>}. Data only: nothing from it is
# ever parsed as PowerShell except the shipped script file it names and prelude.ps1 beside it.
# (Stdin and Stdout default to the console; the tests pass a reader and a writer.)
# stdout: whatever the host writes, then the marker line, then the script's one
# JSON document (its last output). Node reads only what follows the last marker.
#
# Minimum: Windows PowerShell 5.1 on .NET Framework 4.6.2 or later (RSACertificateExtensions,
# ECDsaCertificateExtensions and ServiceController.StartType need 4.6.1), in FullLanguage mode:
# each checked first, with one line.
param($Stdin = $null, $Stdout = $null)
$ErrorActionPreference = 'Stop'
if ([string]$ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') { throw ('rdpcert: PowerShell runs in ' + [string]$ExecutionContext.SessionState.LanguageMode + ' (an AppLocker or WDAC policy): rdpcert needs FullLanguage for its scripts; run it where the policy allows them (e.g. as SYSTEM, or sign and allow them)') }
if ($PSVersionTable.PSVersion.Major -lt 5 -or ($PSVersionTable.PSVersion.Major -eq 5 -and $PSVersionTable.PSVersion.Minor -lt 1)) { throw ('rdpcert: Windows PowerShell ' + [string]$PSVersionTable.PSVersion + ' is too old: rdpcert needs 5.1 (WMF 5.1) and .NET Framework 4.6.2 or later') }
if ([string]$PSVersionTable.PSEdition -eq 'Desktop') {
  $release = (Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' -Name 'Release' -ErrorAction SilentlyContinue).Release
  # 394802: .NET Framework 4.6.2 (Microsoft's "How to determine which .NET Framework versions are installed").
  if ($null -eq $release -or [int]$release -lt 394802) { throw 'rdpcert: .NET Framework 4.6.2 or later is needed (Release 394802 in HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full)' }
}
$ProgressPreference = 'SilentlyContinue'
$WarningPreference = 'SilentlyContinue'
$VerbosePreference = 'SilentlyContinue'
$InformationPreference = 'SilentlyContinue'

# Windows PowerShell 5.1 reads and writes the console's OEM code page otherwise.
$utf8 = New-Object System.Text.UTF8Encoding -ArgumentList $false
[Console]::InputEncoding = $utf8
[Console]::OutputEncoding = $utf8
$OutputEncoding = $utf8
# Taken after the encodings are set: setting them replaces the console's reader and writer.
if ($null -eq $Stdin) { $Stdin = [Console]::In }
if ($null -eq $Stdout) { $Stdout = [Console]::Out }

$envelope = $Stdin.ReadToEnd() | ConvertFrom-Json
$script = [string]$envelope.script
if ($script -notmatch '\.ps1\z' -or -not [System.IO.Path]::IsPathRooted($script)) { throw 'bootstrap: script must be an absolute path to a .ps1 file' }
$inputJson = ConvertTo-Json -InputObject $envelope.input -Depth 10 -Compress
# Every script starts with prelude.ps1 (beside it): preferences, $params from the input, the
# shared helpers. Dot-sourced into a fresh scope, and the script runs in a child of that scope.
$prelude = [scriptblock]::Create([System.IO.File]::ReadAllText([System.IO.Path]::Combine([System.IO.Path]::GetDirectoryName($script), 'prelude.ps1'), [System.Text.Encoding]::UTF8))
$block = [scriptblock]::Create([System.IO.File]::ReadAllText($script, [System.Text.Encoding]::UTF8))
$output = @(& { . $prelude -InputJson $inputJson; & $block } 3>$null 4>$null 5>$null 6>$null)
$answer = ''
if ($output.Count -gt 0) { $answer = [string]$output[$output.Count - 1] }
$Stdout.Write("`n--- rdpcert-json ---`n" + $answer + "`n")
$Stdout.Flush()
