# Runs the Pester suite of the Windows scripts (test/windows/*.Tests.ps1) against the
# Windows host model, prints Pester's summary and its code coverage of every .ps1 in
# src/hosts/windows/scripts, and fails when a test fails or coverage is below 85 %.
# Usage: pwsh -NoProfile -File test/windows/run-pester.ps1 -PesterManifest PATH
param([Parameter(Mandatory)][string]$PesterManifest, [int]$CoverageTarget = 85, [string]$Verbosity = 'Normal', [string]$FullName = '*')
$ErrorActionPreference = 'Stop'
Import-Module ([System.IO.Path]::GetFullPath($PesterManifest)) -Force
$root = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../..'))
$scripts = @(Get-ChildItem -LiteralPath (Join-Path $root 'src/hosts/windows/scripts') -Filter '*.ps1' | ForEach-Object FullName)

$config = New-PesterConfiguration
$config.Run.Path = @(Join-Path $root 'test/windows')
$config.Run.PassThru = $true
$config.Filter.FullName = $FullName
$config.CodeCoverage.UseBreakpoints = $false
$config.Output.Verbosity = $Verbosity
$config.CodeCoverage.Enabled = $true
$config.CodeCoverage.Path = $scripts
$config.CodeCoverage.CoveragePercentTarget = $CoverageTarget
$config.CodeCoverage.OutputPath = Join-Path $root 'coverage/pester-coverage.xml'
$result = Invoke-Pester -Configuration $config

# Line coverage from the JaCoCo report Pester writes (its own summary counts commands).
[xml]$report = Get-Content -Raw -LiteralPath $config.CodeCoverage.OutputPath.Value
$lines = $report.report.counter | Where-Object { $_.type -eq 'LINE' }
$covered = [int]$lines.covered
$analyzed = $covered + [int]$lines.missed
$percent = 0
if ($analyzed -gt 0) { $percent = [math]::Round(100 * $covered / $analyzed, 1) }
$cc = $result.CodeCoverage
Write-Host ''
Write-Host ('Pester {0}: {1} passed, {2} failed, {3} skipped, {4} total' -f (Get-Module Pester).Version, $result.PassedCount, $result.FailedCount, $result.SkippedCount, $result.TotalCount)
Write-Host ('Coverage of src/hosts/windows/scripts/*.ps1: {0} % of lines ({1} of {2}; target {3} %), {4} of {5} commands' -f $percent, $covered, $analyzed, $CoverageTarget, $cc.CommandsExecutedCount, $cc.CommandsAnalyzedCount)
foreach ($file in @($report.report.package.sourcefile)) {
  $c = $file.counter | Where-Object { $_.type -eq 'LINE' }
  $n = [int]$c.covered + [int]$c.missed
  $p = 100
  if ($n -gt 0) { $p = [math]::Round(100 * [int]$c.covered / $n, 1) }
  Write-Host ('  {0,-14} {1,5} % of lines ({2}/{3})' -f $file.name, $p, [int]$c.covered, $n)
}
if ($result.FailedCount -gt 0 -or $result.Result -ne 'Passed') { exit 1 }
if ($percent -lt $CoverageTarget) { Write-Host "line coverage below $CoverageTarget %"; exit 1 }
exit 0
