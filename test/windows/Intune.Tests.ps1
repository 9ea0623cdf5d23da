# The Intune Remediations pair (contrib/intune) under Pester: the rdpcert invocation
# (-Node, -Cli) points at a stand-in that prints rdpcert.status/v1 and rdpcert.run/v1 documents
# (fields as docs/json-schemas.md documents them) with rdpcert's exit codes; the files' bytes;
# the 32-bit -> Sysnative relaunch. test/e2e/intune-remediation.test.ts runs the same scripts
# against the real rdpcert and a real xrdp. Neither has run on Windows or in Intune.
# Windows facts these rules rest on (Microsoft docs):
#  - Intune Remediations: detection exit 1 runs remediation; output is cut at 2,048 characters;
#    scripts must be UTF-8 without a BOM; "Run script in 64-bit PowerShell" defaults to No (32-bit).
#    https://learn.microsoft.com/mem/intune/fundamentals/remediations
#  - WOW64: a 32-bit process reaches the native System32 through %SystemRoot%\Sysnative.
#    https://learn.microsoft.com/windows/win32/winprog64/file-system-redirector

Describe 'contrib/intune: Detect-RdpCert.ps1 and Remediate-RdpCert.ps1' {
BeforeAll {
  $IntuneDir = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../contrib/intune'))
  $Detect = Join-Path $IntuneDir 'Detect-RdpCert.ps1'
  $Remediate = Join-Path $IntuneDir 'Remediate-RdpCert.ps1'
  # The pwsh the tests use (test/helpers/pwsh.ts): RDPCERT_PWSH, else the .NET tool in .tools/pwsh, else pwsh on PATH.
  $Pwsh = $env:RDPCERT_PWSH
  if (-not $Pwsh) { $Pwsh = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../.tools/pwsh/pwsh')) }
  if (-not (Test-Path -LiteralPath $Pwsh)) { $Pwsh = (Get-Command pwsh -CommandType Application).Source }

  # The stand-in for node.exe + main.js: /bin/sh runs stand-in.sh, which records its arguments and
  # prints the document and exit code the test put in place for the command (status or run).
  $Stand = Join-Path ([System.IO.Path]::GetTempPath()) ('rdpcert-intune-' + [guid]::NewGuid())
  New-Item -ItemType Directory -Path $Stand | Out-Null
  $StandIn = Join-Path $Stand 'stand-in.sh'
  Set-Content -LiteralPath $StandIn -NoNewline -Value ("#!/bin/sh`nd=`$(dirname `"`$0`")`nprintf '%s\n' `"`$@`" > `"`$d/args-`$1`"`ncat `"`$d/`$1.json`"`n[ -f `"`$d/`$1.err`" ] && cat `"`$d/`$1.err`" >&2`nexit `$(cat `"`$d/`$1.code`")`n")

  function Set-Answer([string]$Command, $Document, [int]$Code, [string]$Stderr = '') {
    $text = $Document
    if ($Document -isnot [string]) { $text = $Document | ConvertTo-Json -Depth 10 }
    [System.IO.File]::WriteAllText((Join-Path $Stand "$Command.json"), $text)
    [System.IO.File]::WriteAllText((Join-Path $Stand "$Command.code"), [string]$Code)
    $err = Join-Path $Stand "$Command.err"
    if ($Stderr) { [System.IO.File]::WriteAllText($err, $Stderr) } elseif (Test-Path $err) { Remove-Item $err }
  }
  function New-Cert([int]$DaysLeft, [string]$Thumbprint) { @{ subject = 'CN=rdp01'; thumbprint = $Thumbprint; daysLeft = $DaysLeft; notAfter = [DateTime]::UtcNow.AddDays($DaysLeft).ToString('o'); selfSigned = $true } }
  function New-Status([string]$Status, [string]$Health, [int]$Code, [int]$DaysLeft, [string]$Thumbprint, [string]$Reason) {
    $cert = New-Cert $DaysLeft $Thumbprint
    @{ schema = 'rdpcert.status/v1'; generatedAt = [DateTime]::UtcNow.ToString('o'); backend = 'windows'; source = 'Win32_TSGeneralSetting'; status = $Status; health = $Health; exitCode = $Code; reason = $Reason; fix = $null; problems = @(); unchecked = @()
       configured = @{ location = "Cert:\LocalMachine\Remote Desktop\$Thumbprint"; state = 'present'; issuance = 'self-signed'; certificate = $cert }
       presented = @{ address = '127.0.0.1'; error = $null; certificate = $cert }; findings = @() }
  }
  function New-Run([string]$Outcome, [string]$Status, [int]$Code, [string]$Reason, [string]$Old = $null, [string]$New = $null) {
    $rotation = $null
    if ($New) { $rotation = @{ schema = 'rdpcert.rotate/v1'; outcome = 'rotated'; oldThumbprint = $Old; newThumbprint = $New } }
    @{ schema = 'rdpcert.run/v1'; generatedAt = [DateTime]::UtcNow.ToString('o'); runId = 'r1'; dryRun = $false; action = 'rotate'; outcome = $Outcome; exitCode = $Code; status = $Status; reason = $Reason; recovered = $null; rotation = $rotation; backoff = @{ failures = 0 }; warnings = @() }
  }
  function Invoke-Intune([string]$Script, [string[]]$Extra = @()) {
    $out = & $Pwsh -NoProfile -NonInteractive -File $Script -Node '/bin/sh' -Cli $StandIn @Extra
    @{ Code = $LASTEXITCODE; Out = @($out) }
  }
  $Old = '6818A0C2E04F3A1D9B7E5C3A1F0D2B4C6E8A0ABB'
  $New = '1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D'
}
AfterAll { Remove-Item -Recurse -Force -LiteralPath $Stand }

It 'both files are ASCII (UTF-8 without a BOM), so Windows PowerShell 5.1 reads them the same under any code page' {
  foreach ($path in @($Detect, $Remediate)) {
    $bytes = [System.IO.File]::ReadAllBytes($path)
    ($bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF) | Should -BeFalse -Because "$path must have no BOM"
    @($bytes | Where-Object { $_ -gt 0x7E -or ($_ -lt 0x20 -and $_ -ne 0x0A -and $_ -ne 0x0D -and $_ -ne 0x09) }).Count | Should -Be 0 -Because "$path must be printable ASCII"
  }
}

It 'use nothing Windows PowerShell 5.1 lacks (test/helpers/ps51-check.ps1, PowerShell''s own parser)' {
  $report = & $Pwsh -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot '../helpers/ps51-check.ps1') $Detect $Remediate | ConvertFrom-Json
  foreach ($path in @($Detect, $Remediate)) {
    $entry = $report.PSObject.Properties[$path].Value
    $entry.ok | Should -BeTrue -Because (@($entry.problems | ForEach-Object { "$($_.line): $($_.rule)" }) -join '; ')
  }
}

It 'the shared helpers are the same text in both scripts (each file is uploaded to Intune on its own)' {
  $block = { param($p) $t = [System.IO.File]::ReadAllText($p); $a = $t.IndexOf('# --- shared helpers'); $b = $t.IndexOf('# --- end of shared helpers ---'); $a | Should -BeGreaterThan 0; $t.Substring($a, $b - $a) }
  (& $block $Detect) | Should -BeExactly (& $block $Remediate)
}

It 'healthy: detection exits 0 with one line (verdict, days left, thumbprint) and ran rdpcert status --json with the config' {
  Set-Answer 'status' (New-Status 'OK' 'ok' 0 150 $Old 'the listener presents the configured certificate, valid for 150 days') 0
  $r = Invoke-Intune $Detect @('-Config', '/etc/rdpcert/config.json')
  $r.Code | Should -Be 0
  $r.Out | Should -HaveCount 1
  $r.Out[0] | Should -BeExactly "rdpcert OK (ok): 150 days left, thumbprint ${Old}: the listener presents the configured certificate, valid for 150 days"
  @(Get-Content -LiteralPath (Join-Path $Stand 'args-status')) | Should -Be @('status', '--json', '--config', '/etc/rdpcert/config.json')
}

It 'expiring: detection exits 1; remediation runs rdpcert run and exits 0 with its one-line outcome; detection then exits 0' {
  Set-Answer 'status' (New-Status 'WARN' 'warn' 1 12 $Old 'certificate expires in 12 days') 1
  $d = Invoke-Intune $Detect
  $d.Code | Should -Be 1
  $d.Out[0] | Should -BeExactly "rdpcert WARN (warn): 12 days left, thumbprint ${Old}: certificate expires in 12 days"

  Set-Answer 'run' (New-Run 'rotated' 'WARN' 0 'certificate expires in 12 days' $Old $New) 0
  $r = Invoke-Intune $Remediate
  $r.Code | Should -Be 0
  $r.Out | Should -HaveCount 1
  $r.Out[0] | Should -BeExactly "rdpcert run: rotated (WARN, exit 0): new thumbprint ${New}: certificate expires in 12 days"
  @(Get-Content -LiteralPath (Join-Path $Stand 'args-run')) | Should -Be @('run', '--json')

  Set-Answer 'status' (New-Status 'OK' 'ok' 0 180 $New 'valid for 180 days') 0
  (Invoke-Intune $Detect).Code | Should -Be 0
}

It 'remediation exits 1 when rdpcert run does not exit 0 (WARNING 1, CRITICAL 2), with rdpcert''s exit code in the line' {
  Set-Answer 'run' (New-Run 'nothing' 'CORRUPT' 2 'NETWORK SERVICE cannot read the private key') 2
  $r = Invoke-Intune $Remediate
  $r.Code | Should -Be 1
  $r.Out[0] | Should -BeExactly 'rdpcert run: nothing (CORRUPT, exit 2): NETWORK SERVICE cannot read the private key'
  Set-Answer 'run' (New-Run 'nothing' 'WARN' 1 'CA-issued certificate expires in 20 days; no renewCommand') 1
  (Invoke-Intune $Remediate).Code | Should -Be 1
}

It 'output is one line of at most 2,048 characters, however long or multi-line rdpcert''s reason' {
  $long = ('x' * 1500) + "`r`nsecond line`n" + ('y' * 3000)
  Set-Answer 'status' (New-Status 'CORRUPT' 'critical' 2 -3 $Old $long) 2
  $d = Invoke-Intune $Detect
  $d.Code | Should -Be 1
  $d.Out | Should -HaveCount 1
  $d.Out[0].Length | Should -Be 2048
  $d.Out[0] | Should -Match '^rdpcert CORRUPT \(critical\): -3 days left, thumbprint [0-9A-F]{40}: x+ second line y+\.\.\.$'
  Set-Answer 'run' (New-Run 'rolled-back' 'EXPIRED' 2 $long) 2
  $r = Invoke-Intune $Remediate
  $r.Out | Should -HaveCount 1
  $r.Out[0].Length | Should -Be 2048
}

It 'no report (rdpcert failed before printing JSON): exit 1 and rdpcert''s first stderr line' {
  Set-Answer 'status' '' 3 "rdpcert: C:\ProgramData\rdpcert\config.json: warnDays: 400 must be below validityDays`nsecond line"
  $d = Invoke-Intune $Detect
  $d.Code | Should -Be 1
  $d.Out | Should -Be @('rdpcert UNKNOWN: rdpcert: C:\ProgramData\rdpcert\config.json: warnDays: 400 must be below validityDays')
  Set-Answer 'run' 'not json' 3
  $r = Invoke-Intune $Remediate
  $r.Code | Should -Be 1
  $r.Out | Should -Be @('rdpcert run failed: rdpcert run exited with 3 and printed no report')
}

Context 'paths and the 32-bit relaunch (functions dot-sourced)' {
  BeforeAll { . $Detect }

  It 'Sysnative only from a 32-bit process on 64-bit Windows' {
    Get-SysnativePowerShell -Is64BitOs $true -Is64BitProcess $false -SystemRoot 'C:\Windows' | Should -Be ([System.IO.Path]::Combine('C:\Windows', 'Sysnative', 'WindowsPowerShell', 'v1.0', 'powershell.exe'))
    Get-SysnativePowerShell -Is64BitOs $true -Is64BitProcess $true -SystemRoot 'C:\Windows' | Should -BeNullOrEmpty
    Get-SysnativePowerShell -Is64BitOs $false -Is64BitProcess $false -SystemRoot 'C:\Windows' | Should -BeNullOrEmpty
  }

  It 'defaults: node.exe and main.js under the 64-bit Program Files (ProgramW6432 first, as a 32-bit process sees it)' {
    $saved = @($env:ProgramW6432, $env:ProgramFiles)
    try {
      $env:ProgramW6432 = 'C:\Program Files'; $env:ProgramFiles = 'C:\Program Files (x86)'
      $p = Get-RdpcertPaths -Node '' -Cli ''
      $p.Node | Should -Be ([System.IO.Path]::Combine('C:\Program Files', 'nodejs', 'node.exe'))
      $p.Cli | Should -Be ([System.IO.Path]::Combine('C:\Program Files', 'rdpcert', 'node_modules', 'rdpcert', 'dist', 'src', 'cli', 'main.js'))
    } finally { $env:ProgramW6432 = $saved[0]; $env:ProgramFiles = $saved[1] }
  }

  It 'from 32-bit PowerShell: starts Sysnative''s powershell.exe with -File and only the parameters given, and passes on its line and exit code' {
    $root = Join-Path $Stand 'Windows'
    $ps = [System.IO.Path]::Combine($root, 'Sysnative', 'WindowsPowerShell', 'v1.0', 'powershell.exe')
    New-Item -ItemType Directory -Force -Path (Split-Path $ps) | Out-Null
    # The stand-in 64-bit PowerShell records its arguments, then runs them with this pwsh.
    Set-Content -LiteralPath $ps -NoNewline -Value ("#!/bin/sh`nprintf '%s\n' `"`$@`" > `"`$(dirname `"`$0`")/args`"`nexec '$Pwsh' `"`$@`"`n")
    & chmod 755 $ps
    Set-Answer 'status' (New-Status 'WARN' 'warn' 1 9 $Old 'certificate expires in 9 days') 1
    $bound = [ordered]@{ Node = '/bin/sh'; Cli = $StandIn }
    $result = Start-RdpCertScript -Bound $bound -ScriptPath $Detect -Is64BitOs $true -Is64BitProcess $false -SystemRoot $root -Work { throw 'must not run in the 32-bit process' }
    $result.ExitCode | Should -Be 1
    $result.Line | Should -BeExactly "rdpcert WARN (warn): 9 days left, thumbprint ${Old}: certificate expires in 9 days"
    @(Get-Content -LiteralPath (Join-Path (Split-Path $ps) 'args')) | Should -Be @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $Detect, '-Node', '/bin/sh', '-Cli', $StandIn)
  }

  It 'from 32-bit PowerShell without a Sysnative powershell.exe: one line, exit 1' {
    $result = Start-RdpCertScript -Bound @{} -ScriptPath $Detect -Is64BitOs $true -Is64BitProcess $false -SystemRoot (Join-Path $Stand 'none') -Work { throw 'must not run' }
    $result.ExitCode | Should -Be 1
    $result.Line | Should -BeLike 'rdpcert: cannot start 64-bit PowerShell: *powershell.exe is missing'
  }

  It 'an argument Windows PowerShell 5.1 would pass wrongly (a double quote) is refused, never run' {
    $r = Invoke-Rdpcert -Node '/bin/sh' -Cli $StandIn -Arguments @('status', '--config', 'a"b')
    $r.Code | Should -Be -1
    $r.Stderr | Should -Be 'an rdpcert argument is empty or contains a double quote'
  }
}
}
