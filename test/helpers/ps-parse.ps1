# Parses PowerShell files with PowerShell's own parser (the one Windows uses)
# and writes one JSON object: per file, every parse error with its 1-based
# line and column and the parser's error id.
# Usage: pwsh -NoProfile -NonInteractive -File ps-parse.ps1 FILE...
$report = [ordered]@{}
foreach ($file in $args) {
  $tokens = $null
  $errors = $null
  [void][System.Management.Automation.Language.Parser]::ParseFile($file, [ref]$tokens, [ref]$errors)
  $problems = @($errors | ForEach-Object {
      [ordered]@{ line = $_.Extent.StartLineNumber; column = $_.Extent.StartColumnNumber; id = $_.ErrorId; message = $_.Message }
    })
  $report[$file] = [ordered]@{ hasError = ($problems.Count -gt 0); problems = $problems }
}
$report | ConvertTo-Json -Depth 5 -Compress
