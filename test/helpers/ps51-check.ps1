# Windows PowerShell 5.1 compatibility of PowerShell files, judged on the AST that
# PowerShell's own parser (pwsh 7 here) builds: rdpcert's scripts run on 5.1 hosts
# (and must not use what only PowerShell 7 has), while the tests run them under 7.
# Writes one JSON object: per file, every use of 7-only syntax, parameters, cmdlets
# or variables, with its 1-based line and column and the rule it breaks.
# Usage: pwsh -NoProfile -NonInteractive -File ps51-check.ps1 FILE...
$ErrorActionPreference = 'Stop'

# Syntax added after 5.1 (about_Pipeline_Chain_Operators, about_Operators: ternary,
# null-coalescing, null-conditional member access: all PowerShell 7.0/7.1).
$syntaxRules = @(
  @{ rule = 'pipeline chain && or || (PowerShell 7)'; test = { param($a) $a -is [System.Management.Automation.Language.PipelineChainAst] } },
  @{ rule = 'ternary ?: (PowerShell 7)'; test = { param($a) $a -is [System.Management.Automation.Language.TernaryExpressionAst] } },
  @{ rule = '?? or ??= (PowerShell 7)'; test = { param($a) $a -is [System.Management.Automation.Language.BinaryExpressionAst] -and [string]$a.Operator -eq 'QuestionQuestion' } },
  @{ rule = '??= (PowerShell 7)'; test = { param($a) $a -is [System.Management.Automation.Language.AssignmentStatementAst] -and [string]$a.Operator -eq 'QuestionQuestionEquals' } },
  @{ rule = '?. or ?[] (PowerShell 7)'; test = { param($a) ($a -is [System.Management.Automation.Language.MemberExpressionAst] -or $a -is [System.Management.Automation.Language.IndexExpressionAst]) -and $a.NullConditional } },
  # Windows Server 2012 R2 ships PowerShell 4, where ::new() does not exist (WMF 5.1 is an update there): New-Object works everywhere.
  @{ rule = '::new() (PowerShell 5; use New-Object)'; test = { param($a) $a -is [System.Management.Automation.Language.InvokeMemberExpressionAst] -and $a.Static -and $a.Member -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $a.Member.Value -eq 'new' } },
  @{ rule = 'clean block (PowerShell 7.3)'; test = { param($a) $a -is [System.Management.Automation.Language.NamedBlockAst] -and [string]$a.BlockKind -eq 'Clean' } },
  # Not a version matter: bootstrap.ps1 runs every script as a script block, which has no script scope.
  @{ rule = '$script: scope (the script runs as a script block under bootstrap.ps1)'; test = { param($a) $a -is [System.Management.Automation.Language.VariableExpressionAst] -and $a.VariablePath.IsScript } },
  @{ rule = '$IsWindows/$IsLinux/$IsMacOS/$IsCoreCLR/$PSStyle (PowerShell 6+)'; test = { param($a) $a -is [System.Management.Automation.Language.VariableExpressionAst] -and @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR', 'PSStyle') -contains $a.VariablePath.UserPath } }
)

# Parameters that 5.1's cmdlets do not have (each cmdlet's 7.x help, "This parameter was added in PowerShell 6/7").
$parameterRules = @{
  'ConvertFrom-Json' = @('AsHashtable', 'Depth', 'NoEnumerate', 'DateKind')
  'ConvertTo-Json' = @('AsArray', 'EnumsAsStrings', 'EscapeHandling')
  'ForEach-Object' = @('Parallel', 'ThrottleLimit', 'AsJob', 'TimeoutSeconds')
  'Get-Content' = @('AsByteStream')
  'Set-Content' = @('AsByteStream')
  'Add-Content' = @('AsByteStream')
  'Join-Path' = @('AdditionalChildPath')
  'Invoke-WebRequest' = @('SkipCertificateCheck', 'NoProxy', 'SslProtocol', 'Authentication', 'Token')
  'Invoke-RestMethod' = @('SkipCertificateCheck', 'NoProxy', 'SslProtocol', 'Authentication', 'Token')
  'Select-Object' = @('SkipIndex', 'SkipLast')
  'Get-ChildItem' = @('FollowSymlink')
  'Start-Process' = @('Environment')
  'Test-Connection' = @('TargetName', 'TcpPort')
}
$sevenOnlyCommands = @('Test-Json', 'Get-Error', 'Join-String', 'ConvertFrom-Markdown', 'Get-Uptime', 'Remove-Alias', 'Remove-Service', 'Clear-RecycleBin', 'Get-SecureRandom', 'ConvertTo-CliXml', 'ConvertFrom-CliXml')
# Encodings 5.1 does not know (it has UTF8, which writes a BOM).
$sevenOnlyEncodings = @('utf8NoBOM', 'utf8BOM', 'ansi')

$report = [ordered]@{}
foreach ($file in $args) {
  $tokens = $null
  $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($file, [ref]$tokens, [ref]$errors)
  $problems = New-Object 'System.Collections.Generic.List[object]'
  foreach ($e in @($errors)) { $problems.Add([ordered]@{ line = $e.Extent.StartLineNumber; column = $e.Extent.StartColumnNumber; rule = 'parse error: ' + $e.ErrorId; text = $e.Message }) }
  $all = $ast.FindAll({ param($a) $true }, $true)
  foreach ($node in $all) {
    foreach ($r in $syntaxRules) {
      if (& $r.test $node) { $problems.Add([ordered]@{ line = $node.Extent.StartLineNumber; column = $node.Extent.StartColumnNumber; rule = $r.rule; text = $node.Extent.Text }) }
    }
    if ($node -is [System.Management.Automation.Language.CommandAst]) {
      $name = $node.GetCommandName()
      if (-not $name) { continue }
      $canonical = $null
      foreach ($k in $parameterRules.Keys) { if ($k -eq $name) { $canonical = $k } }
      if ($sevenOnlyCommands -contains $name) { $problems.Add([ordered]@{ line = $node.Extent.StartLineNumber; column = $node.Extent.StartColumnNumber; rule = "$name (PowerShell 6+)"; text = $node.Extent.Text }) }
      $elements = @($node.CommandElements)
      for ($i = 1; $i -lt $elements.Count; $i++) {
        $el = $elements[$i]
        if ($el -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
        $p = $el.ParameterName
        if ($canonical) {
          foreach ($bad in $parameterRules[$canonical]) {
            # PowerShell accepts any unambiguous prefix of a parameter name.
            if ($p.Length -ge 2 -and $bad.StartsWith($p, [System.StringComparison]::OrdinalIgnoreCase) -and $bad.Length -ge $p.Length -and ($p -eq $bad -or $p.Length -ge 3)) {
              $problems.Add([ordered]@{ line = $el.Extent.StartLineNumber; column = $el.Extent.StartColumnNumber; rule = "$canonical -$bad (not in Windows PowerShell 5.1)"; text = $node.Extent.Text })
            }
          }
        }
        if ($p -eq 'Encoding') {
          $value = $el.Argument
          if ($null -eq $value -and $i + 1 -lt $elements.Count) { $value = $elements[$i + 1] }
          if ($value -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $sevenOnlyEncodings -contains $value.Value) {
            $problems.Add([ordered]@{ line = $el.Extent.StartLineNumber; column = $el.Extent.StartColumnNumber; rule = "-Encoding $($value.Value) (not in Windows PowerShell 5.1)"; text = $node.Extent.Text })
          }
        }
      }
    }
  }
  $report[$file] = [ordered]@{ ok = ($problems.Count -eq 0); problems = $problems }
}
ConvertTo-Json -InputObject $report -Depth 6 -Compress
