# What the Node end-to-end tests start instead of powershell.exe: pwsh with the Windows
# host model loaded from a state file, then exactly what Windows would run (the
# -EncodedCommand text: src/hosts/windows/scripts/bootstrap.ps1, reading its envelope
# from stdin), then the model saved back, so that the next script sees what this one did.
# Usage: pwsh -NoProfile -NonInteractive -File with-model.ps1 STATE.json ENCODED-COMMAND
param([Parameter(Mandatory)][string]$StatePath, [Parameter(Mandatory)][string]$EncodedCommand)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'WindowsModel.ps1')
Import-WindowsModel $StatePath
try {
  $text = [System.Text.Encoding]::Unicode.GetString([Convert]::FromBase64String($EncodedCommand))
  & ([scriptblock]::Create($text))
} finally {
  Export-WindowsModel $StatePath
}
