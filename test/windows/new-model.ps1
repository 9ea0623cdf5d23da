# Writes a fresh Windows host model to a state file, with the changes a test names
# (a small, fixed set of scenarios, so that no test text is ever run as PowerShell).
# Usage: pwsh -NoProfile -NonInteractive -File new-model.ps1 STATE.json [SCENARIO...]
param([Parameter(Mandatory, Position = 0)][string]$StatePath, [Parameter(ValueFromRemainingArguments)][string[]]$Scenario = @())
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'WindowsModel.ps1')
New-WindowsModel
foreach ($name in $Scenario) {
  switch ($name) {
    # Windows' own certificate past its notAfter (the 0x904/0x7 case).
    'expired' {
      $old = Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint
      [void]$WinModel.Certificates.Remove($old)
      $c = New-ModelCertificate -Subject ('CN=' + $WinModel.ComputerName) -DaysAgo 200 -DaysValid 180
      $WinModel.Certificates.Add($c); $WinModel.SelfSignedThumbprint = $c.Thumbprint
    }
    # Expiring in 10 days (renewal point passed).
    'expiring' {
      $old = Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint
      [void]$WinModel.Certificates.Remove($old)
      $c = New-ModelCertificate -Subject ('CN=' + $WinModel.ComputerName) -DaysAgo 170 -DaysValid 180
      $WinModel.Certificates.Add($c); $WinModel.SelfSignedThumbprint = $c.Thumbprint
    }
    'dangling' { $WinModel.Listeners['RDP-Tcp'].RegistryHash = ('AB' * 20); $WinModel.Listeners['RDP-Tcp'].HashType = 3 }
    'issues-on-termservice' { $WinModel.IssuesOnRestartOf = 'TermService'; $WinModel.Services.TermService.Hangs = 'unless-dependents-stopped' }
    'issues-never' { $WinModel.IssuesOnRestartOf = 'nobody' }
    'key-folders-broken' { $WinModel.KeyFolderAcl.MachineKeys = @('S-1-1-0:R') }
    'termservice-hangs' { $WinModel.IssuesOnRestartOf = 'TermService'; $WinModel.Services.TermService.Hangs = $true }
    # A second listener (its own WinStations key, port and binding), as admins add for a jump host.
    'second-listener' { $WinModel.Listeners['RDP-Tcp-Admin'] = [ordered]@{ PortNumber = 3390; SecurityLayer = 2; UserAuthentication = 1; HashType = 1; RegistryHash = $null; TemplateHash = $null } }
    # AD CS auto-enrollment through a Group Policy template: HashType 2, the certificate in My (KB 3042780).
    'group-policy-template' {
      $t = New-ModelCertificate -Store 'My' -Subject ('CN=' + $WinModel.ComputerName) -Issuer 'CN=Corp Issuing CA' -DaysAgo 300 -DaysValid 365 -KeyAcl @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R')
      $WinModel.Certificates.Add($t)
      # The policy, not the WinStations value, names it: a hash set there by hand would take precedence ([KB3042780]).
      $WinModel.Listeners['RDP-Tcp'].HashType = 2; $WinModel.Listeners['RDP-Tcp'].TemplateHash = $t.Thumbprint
    }
    # A CA-issued certificate in My bound by hand (type 3, the registry value set), its key readable by NETWORK SERVICE.
    'custom-binding' {
      $c = New-ModelCertificate -Store 'My' -Subject ('CN=' + $WinModel.ComputerName) -Issuer 'CN=Corp Issuing CA' -DaysAgo 300 -DaysValid 330 -Exportable $true -KeyAcl @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R')
      $WinModel.Certificates.Add($c)
      $WinModel.Listeners['RDP-Tcp'].RegistryHash = $c.Thumbprint; $WinModel.Listeners['RDP-Tcp'].HashType = 3
    }
    # A CA-issued certificate in My with its key (certreq -accept, or win-acme's store), not bound; its key file grants SYSTEM and Administrators only.
    'my-candidate' {
      $WinModel.Certificates.Add((New-ModelCertificate -Store 'My' -Subject 'CN=rdp.example.test' -Issuer 'CN=Corp Issuing CA' -DaysAgo 1 -DaysValid 90))
    }
    # An imported PFX's key lands in a CNG key storage provider (Crypto\Keys).
    'pfx-cng' { $WinModel.PfxKeyProvider = 'CNG' }
    # The seed case: Windows' own certificate valid, its key file present but damaged [EV02 2.10];
    # clients have been failing, each attempt logging Schannel 36870 [EV02 2.3].
    'key-broken' {
      (Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint).KeyBroken = $true
      [void](Get-ModelPresented)
    }
    # The same key as a CNG key of a custom certificate in My (bound by hand, type 3).
    'key-broken-cng' {
      $c = New-ModelCertificate -Store 'My' -Subject ('CN=' + $WinModel.ComputerName) -Issuer 'CN=Corp Issuing CA' -DaysAgo 30 -DaysValid 330 -KeyProvider 'CNG' -KeyAcl @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R') -KeyBroken $true
      $WinModel.Certificates.Add($c)
      $WinModel.Listeners['RDP-Tcp'].RegistryHash = $c.Thumbprint; $WinModel.Listeners['RDP-Tcp'].HashType = 3
    }
    # Against a broken key Windows resets the connection during the X.224 exchange [GUESS: no capture].
    'wire-reset' { $WinModel.BrokenKeyWire = 'reset' }
    # Server 2016: the RDP key grants Administrators Read [EV01 1.1].
    'build-14393' {
      $WinModel.Build = 14393
      (Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint).KeyAcl = @(Get-ModelOwnKeyAcl)
    }
    # The scripts run as SYSTEM (the hand-off task).
    'as-system' { $WinModel.CallerSids = @('S-1-5-18') }
    'event-non-ascii' { Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1058 'Le serveur Terminal Server n''a pas pu remplacer le certificat expiré — état : accès refusé' }
    default { throw "unknown scenario $name" }
  }
}
Export-WindowsModel $StatePath
