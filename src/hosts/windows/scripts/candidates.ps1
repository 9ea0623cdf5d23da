# rdpcert candidates.ps1: the certificates in LocalMachine\My that hold a private key, which
# `deploy --thumbprint` and `run` may bind to the listener. Windows PowerShell 5.1.
# Input (JSON): {} (nothing). Output: one JSON document { certificates: [{ thumbprint, rawData,
# hasPrivateKey }] }: raw DER as base64, every judgement (validity, EKU, names) made in Node.
# (An object around the list: 5.1's ConvertTo-Json writes a one-element array as the element.)
$found = New-Object 'System.Collections.Generic.List[object]'
foreach ($cert in @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My')) {
  if (-not $cert.HasPrivateKey) { continue }
  $found.Add([ordered]@{ thumbprint = [string]$cert.Thumbprint; rawData = [Convert]::ToBase64String($cert.RawData); hasPrivateKey = $true })
}
ConvertTo-Json -InputObject ([ordered]@{ certificates = $found.ToArray() }) -Depth 4 -Compress
