# Every script in src/hosts/windows/scripts, run under Pester against the Windows host
# model (WindowsModel.ps1). Run with `npm run test:windows` (test/windows/run-pester.ps1).

Describe 'rdpcert''s Windows scripts against the Windows host model' {
BeforeAll {
  $ScriptDir = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../src/hosts/windows/scripts'))
  . (Join-Path $PSScriptRoot 'WindowsModel.ps1')

  # As bootstrap.ps1 runs a script: prelude.ps1 dot-sourced into a fresh scope, the script in a child of it.
  # (From the files, not their text, so that Pester's coverage counts the lines.)
  function Invoke-AsSent([string]$Name, [string]$Json) {
    & { . ([System.IO.Path]::Combine($ScriptDir, 'prelude.ps1')) -InputJson $Json; & ([System.IO.Path]::Combine($ScriptDir, $Name)) }
  }

  function Invoke-RdpScript([string]$Name, $InputObject) {
    $json = ConvertTo-Json -InputObject $InputObject -Depth 10 -Compress
    $out = @(Invoke-AsSent $Name $json)
    # The contract: the script's one JSON document is its last output, and nothing else reaches the pipeline.
    $out.Count | Should -Be 1 -Because "$Name must print one JSON document only"
    $out[-1] | ConvertFrom-Json
  }

  function Get-Rd { @($WinModel.Certificates | Where-Object { $_.Store -eq 'Remote Desktop' }) }
  function Add-Cert { param([hashtable]$Options) $c = New-ModelCertificate @Options; $WinModel.Certificates.Add($c); $c }
  function Set-Binding([string]$Thumbprint) { $WinModel.Listeners['RDP-Tcp'].RegistryHash = $Thumbprint; $WinModel.Listeners['RDP-Tcp'].HashType = 3 }
  # A real PKCS#12 of a CA-issued certificate and its key (deploy.ps1 gets one that Node built; through-pwsh.test.ts runs that one).
  function New-TestPfx {
    param([string]$Subject = 'CN=rdp.example.test', [switch]$Ec, [string]$Password = 'pfx-password')
    if ($Ec) {
      $key = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
      $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $key, [System.Security.Cryptography.HashAlgorithmName]::SHA256)
    } else {
      $key = [System.Security.Cryptography.RSA]::Create(2048)
      $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $key, [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    }
    if ($Ec) {
      $caKey = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
      $caRequest = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=Example Issuing CA', $caKey, [System.Security.Cryptography.HashAlgorithmName]::SHA256)
    } else {
      $caKey = [System.Security.Cryptography.RSA]::Create(2048)
      $caRequest = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=Example Issuing CA', $caKey, [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    }
    $caRequest.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension]::new($true, $false, 0, $true))
    $ca = $caRequest.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-2), [DateTimeOffset]::UtcNow.AddDays(400))
    $leaf = $request.Create($ca, [DateTimeOffset]::UtcNow.AddDays(-1), [DateTimeOffset]::UtcNow.AddDays(90), [byte[]](1..16))
    if ($Ec) { $withKey = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::CopyWithPrivateKey($leaf, $key) } else { $withKey = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::CopyWithPrivateKey($leaf, $key) }
    [pscustomobject]@{ Thumbprint = $leaf.Thumbprint; Pfx = [Convert]::ToBase64String($withKey.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pkcs12, $Password)); Password = $Password; CaRawData = [Convert]::ToBase64String($ca.RawData); CaThumbprint = $ca.Thumbprint }
  }
  function Get-My { @($WinModel.Certificates | Where-Object { $_.Store -eq 'My' }) }
  function Get-KeyAcl([string]$Thumbprint) { @((Get-ModelCertificate 'My' $Thumbprint).KeyAcl) }
}

BeforeEach { New-WindowsModel }

Describe 'inspect.ps1' {
  It 'reports the default binding: type 1, no registry value, Windows'' own certificate in Remote Desktop, readable by NETWORK SERVICE' {
    $doc = Invoke-RdpScript 'inspect.ps1' @{ terminalName = 'RDP-tcp'; eventDays = 30 }
    $doc.schema | Should -Be 2
    $doc.tsSetting.sslCertificateSha1HashType | Should -Be 1
    $doc.tsSetting.sslCertificateSha1Hash | Should -Be $WinModel.SelfSignedThumbprint
    $doc.registryHashPresent | Should -BeFalse
    $doc.portNumber | Should -Be 3389
    $doc.certificate.store | Should -Be 'Remote Desktop'
    $doc.certificate.keyProvider | Should -Be 'CAPI'
    $doc.certificate.keyPath | Should -BeLike 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\*'
    $doc.certificate.privateKeyOpens | Should -BeTrue
    [Convert]::FromBase64String($doc.certificate.rawData).Length | Should -BeGreaterThan 500
    @($doc.services | Where-Object { $_.status -eq 'Running' }).Count | Should -Be 3
    $doc.firewall.rules | Should -Be 2
    $doc.firewall.portRules | Should -Be 2
    @($doc.keyFolders | Where-Object { $_.windowsCanCreate }).Count | Should -Be 2
    @($doc.errors).Count | Should -Be 0
    $doc.build | Should -Be 20348
  }

  It 'Windows'' own key on Server 2019 and later: an elevated admin cannot open it (Keyset does not exist), the file and its ACL are still found, judged for NETWORK SERVICE [EV01 1.1, 1.7]' {
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.certificate.keyOpened | Should -BeFalse
    $doc.certificate.privateKeyError | Should -Match 'Keyset does not exist'
    $doc.certificate.keyPath | Should -Be 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_c5d2b969-b61a-4159-8f78-6391a1c805db'
    $doc.certificate.keyFileExists | Should -BeTrue
    $doc.certificate.keyAccess.networkService | Should -BeTrue
    $doc.certificate.keyAccess.sessionEnv | Should -BeTrue
    $doc.certificate.keyAccess.caller | Should -BeFalse
  }

  It 'Server 2016 (Administrators Read on the key) and a SYSTEM task open Windows'' own key' {
    $WinModel.Build = 14393
    (Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint).KeyAcl = @(Get-ModelOwnKeyAcl)
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.certificate.keyOpened | Should -BeTrue
    $doc.certificate.keyAccess.caller | Should -BeTrue
    $doc.certificate.keyAccess.sessionEnv | Should -BeFalse
    New-WindowsModel
    $WinModel.CallerSids = @('S-1-5-18')
    (Invoke-RdpScript 'inspect.ps1' @{}).certificate.keyOpened | Should -BeTrue
  }

  It 'the seed case: a key that exists but will not open, CAPI (as SYSTEM: readable, still broken) and CNG; Schannel 36870 with its Type/ErrorCode/ErrorStatus data' {
    $WinModel.CallerSids = @('S-1-5-18')
    (Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint).KeyBroken = $true
    [void](Get-ModelPresented)
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.certificate.keyOpened | Should -BeFalse
    $doc.certificate.privateKeyError | Should -Match 'Key not valid'
    $doc.certificate.keyAccess.caller | Should -BeTrue
    $e = $doc.events | Where-Object { $_.id -eq 36870 }
    $e.message | Should -Match '0x8009030D.*10001'
    @($e.data) | Should -Be @('server', '0x8009030d', '10001')
    New-WindowsModel
    $custom = Add-Cert @{ Store = 'My'; Issuer = 'CN=Corp CA'; KeyProvider = 'CNG'; KeyAcl = @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'); KeyBroken = $true }
    Set-Binding $custom.Thumbprint
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.certificate.store | Should -Be 'My'
    $doc.certificate.keyOpened | Should -BeFalse
    $doc.certificate.privateKeyError | Should -Match 'Key not valid'
  }

  It 'reads GENERIC_READ, GENERIC_ALL and split grants as read, not bit 0 only; a deny-less write-only grant is not read' {
    $c = Add-Cert @{ Store = 'My'; Issuer = 'CN=Corp CA'; KeyAcl = @('S-1-5-32-544:F', 'S-1-5-20:0x80000000') }
    Set-Binding $c.Thumbprint
    (Invoke-RdpScript 'inspect.ps1' @{}).certificate.keyAccess.networkService | Should -BeTrue
    $c.KeyAcl = @('S-1-5-32-544:F', 'S-1-5-20:0x10000000')
    (Invoke-RdpScript 'inspect.ps1' @{}).certificate.keyAccess.networkService | Should -BeTrue
    # [EV01 1.1] Windows may split one grant: 0x20089 + 0x100000.
    $c.KeyAcl = @('S-1-5-32-544:F', 'S-1-5-20:0x20088', 'S-1-5-20:0x1')
    (Invoke-RdpScript 'inspect.ps1' @{}).certificate.keyAccess.networkService | Should -BeTrue
    $c.KeyAcl = @('S-1-5-18:F', 'S-1-5-20:0x40000000', 'S-1-5-32-544:F')
    (Invoke-RdpScript 'inspect.ps1' @{}).certificate.keyAccess.networkService | Should -BeFalse
    # A group NETWORK SERVICE is in (Users) counts.
    $c.KeyAcl = @('S-1-5-32-544:F', 'S-1-5-32-545:R')
    (Invoke-RdpScript 'inspect.ps1' @{}).certificate.keyAccess.networkService | Should -BeTrue
  }

  It 'the shared helpers (ACL reading, key name, icacls grant) are defined once, in prelude.ps1, and no script redefines them' {
    function Get-FunctionNames([string]$Script) {
      $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $ScriptDir $Script), [ref]$null, [ref]$null)
      @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true) | ForEach-Object { $_.Name })
    }
    $shared = Get-FunctionNames 'prelude.ps1'
    foreach ($name in 'Get-AllowedRights', 'Test-Granted', 'Get-CngKeyName', 'Grant-NetworkServiceRead') { $shared | Should -Contain $name }
    foreach ($file in Get-ChildItem -LiteralPath $ScriptDir -Filter '*.ps1' | Where-Object { $_.Name -ne 'prelude.ps1' }) {
      $ast = [System.Management.Automation.Language.Parser]::ParseFile($file.FullName, [ref]$null, [ref]$null)
      # A param block or a second input read would shadow what the prelude parsed.
      if ($file.Name -ne 'bootstrap.ps1') { $ast.ParamBlock | Should -BeNullOrEmpty -Because "$($file.Name) gets its input from prelude.ps1" }
      @(Get-FunctionNames $file.Name | Where-Object { $shared -contains $_ }) | Should -BeNullOrEmpty -Because "$($file.Name) must use prelude.ps1's helpers"
    }
  }

  It 'judges a custom certificate''s key by its file''s ACL for NETWORK SERVICE (S-1-5-20), not by whether an admin can open it' {
    $custom = Add-Cert @{ Store = 'My'; Subject = 'CN=rdp.example.test'; Issuer = 'CN=Example CA'; Exportable = $true }
    Set-Binding $custom.Thumbprint
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.registryHashPresent | Should -BeTrue
    $doc.registryHash | Should -Be $custom.Thumbprint
    $doc.tsSetting.sslCertificateSha1HashType | Should -Be 3
    $doc.certificate.store | Should -Be 'My'
    $doc.certificate.privateKeyOpens | Should -BeFalse
    $doc.certificate.keyPath | Should -Be ('C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\' + $custom.KeyFileName)
  }

  It 'finds a CNG key under Crypto\Keys' {
    $custom = Add-Cert @{ Store = 'My'; KeyProvider = 'CNG'; KeyAcl = @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R') }
    Set-Binding $custom.Thumbprint
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.certificate.keyProvider | Should -Be 'CNG'
    $doc.certificate.keyPath | Should -Be ('C:\ProgramData\Microsoft\Crypto\Keys\' + $custom.KeyFileName)
    $doc.certificate.privateKeyOpens | Should -BeTrue
  }

  It 'without .NET 4.6 (RSACertificateExtensions) a CNG key is "could not check", never false' {
    $WinModel.HasRsaCertificateExtensions = $false
    $custom = Add-Cert @{ Store = 'My'; KeyProvider = 'CNG' }
    Set-Binding $custom.Thumbprint
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.certificate.privateKeyOpens | Should -BeNullOrEmpty
    $doc.certificate.privateKeyError | Should -Match 'RSACertificateExtensions'
  }

  It 'reports a configured thumbprint that names no installed certificate (the silent fallback)' {
    Set-Binding ('AB' * 20)
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.tsSetting.sslCertificateSha1Hash | Should -Be ('AB' * 20)
    $doc.certificate | Should -BeNullOrEmpty
  }

  It 'key folders: the documented default (Everyone R,W + Administrators F, no SYSTEM) and a hardened SYSTEM + Administrators folder let Windows create its key; a read-only one does not [EV01 1.1]' {
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    ($doc.keyFolders | Where-Object { $_.path -like '*MachineKeys' }).windowsCanCreate | Should -BeTrue
    $WinModel.KeyFolderAcl.MachineKeys = @('S-1-5-18:F', 'S-1-5-32-544:F')
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    ($doc.keyFolders | Where-Object { $_.path -like '*MachineKeys' }).windowsCanCreate | Should -BeTrue
    $WinModel.KeyFolderAcl.MachineKeys = @('S-1-1-0:R', 'S-1-5-32-544:0x80000000')
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    ($doc.keyFolders | Where-Object { $_.path -like '*MachineKeys' }).windowsCanCreate | Should -BeFalse
  }

  It 'reports events per id with count, newest time, message and data (1056/1057, 1063-1065, Schannel 36870)' {
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1057 'failed to create'
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1057 'failed to create again'
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1064 'template certificate creation failed'
    Add-ModelEvent 'Schannel' 36870 'A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D.' @('0x8009030D', 'iis-key-container')
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $e1057 = $doc.events | Where-Object { $_.id -eq 1057 }
    $e1057.count | Should -Be 2
    $e1057.message | Should -Be 'failed to create again'
    ($doc.events | Where-Object { $_.id -eq 1064 }).count | Should -Be 1
    ($doc.events | Where-Object { $_.id -eq 36870 }).data | Should -Contain 'iis-key-container'
  }

  It 'reads 1052/1053/1054/1062 and the errors and warnings of the RemoteConnectionManager/Operational channel, with the log they came from' {
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1062 'certificate event 1062'
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1052 'certificate event 1052'
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1149 'The server security layer detected an error (0x80090304) in the protocol stream and the client (Client IP:10.4.50.253) has been disconnected.' -LogName 'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational' -Level 2
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 261 'Listener RDP-Tcp received a connection' -LogName 'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational' -Level 4
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    @($doc.events | ForEach-Object { $_.id }) | Sort-Object | Should -Be @(1052, 1062, 1149)
    ($doc.events | Where-Object { $_.id -eq 1149 }).log | Should -Be 'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational'
  }

  It 'bounds the firewall port query: past its budget the count is not checked (null) with a part error, and the rest is reported' {
    for ($i = 0; $i -lt 8; $i++) { $WinModel.Firewall.Add([ordered]@{ Name = "Custom-$i"; DisplayName = "Custom $i"; Group = ''; DisplayGroup = ''; Direction = 'Inbound'; Action = 'Allow'; Enabled = 'True'; LocalPort = '443'; Protocol = 'TCP' }) }
    $WinModel.FirewallPortFilterMs = 400
    $doc = Invoke-RdpScript 'inspect.ps1' @{ firewallSeconds = 1 }
    $doc.firewall.rules | Should -Be 2
    $doc.firewall.portRules | Should -BeNullOrEmpty
    ($doc.errors | Where-Object { $_.part -eq 'firewall' }).message | Should -Match 'not checked: more than 1 s'
    $doc.certificate.thumbprint | Should -Be $WinModel.SelfSignedThumbprint
  }

  It 'writes non-ASCII as \u escapes, so no console code page can garble it' {
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1058 'Échec du remplacement du certificat expiré'
    $json = @(Invoke-AsSent 'inspect.ps1' '{}')[-1]
    $json | Should -Not -Match '[^\x00-\x7F]'
    (($json | ConvertFrom-Json).events | Where-Object { $_.id -eq 1058 }).message | Should -Be 'Échec du remplacement du certificat expiré'
  }

  It 'finds the firewall group by its resource id even when the display name is localized, and counts an admin''s own rule for the port' {
    foreach ($r in $WinModel.Firewall) { $r.DisplayGroup = 'Remotedesktop'; $r.Enabled = 'False' }
    $WinModel.Firewall.Add([ordered]@{ Name = 'admin-rdp'; DisplayName = 'RDP from the jump host'; Group = ''; DisplayGroup = ''; Direction = 'Inbound'; Action = 'Allow'; Enabled = 'True'; LocalPort = '3389'; Protocol = 'TCP' })
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.firewall.rules | Should -Be 2
    $doc.firewall.enabled | Should -Be 0
    $doc.firewall.portRules | Should -Be 1
  }

  It 'reports no Remote Desktop group as zero rules, and a failing part as an error without losing the others' {
    $WinModel.Firewall.Clear()
    Mock Get-WinEvent { throw [System.UnauthorizedAccessException]::new('Attempted to perform an unauthorized operation.') }
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.firewall.rules | Should -Be 0
    @($doc.errors | Where-Object { $_.part -like 'events:*' }).Count | Should -Be 3
    $doc.certificate.store | Should -Be 'Remote Desktop'
  }

  It 'lists other listeners with their own PortNumber' {
    $WinModel.Listeners['RDP-Tcp-Admin'] = [ordered]@{ PortNumber = 3390; SecurityLayer = 2; UserAuthentication = 1; HashType = 1; RegistryHash = $null; TemplateHash = $null }
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    ($doc.listeners | Where-Object { $_.name -eq 'RDP-Tcp-Admin' }).port | Should -Be 3390
    @($doc.listeners).Count | Should -Be 2
    $other = Invoke-RdpScript 'inspect.ps1' @{ terminalName = 'RDP-Tcp-Admin' }
    $other.portNumber | Should -Be 3390
  }

  It 'reports stopped and missing services' {
    $WinModel.Services.TermService.Status = 'Stopped'
    $WinModel.Services.Remove('UmRdpService')
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    ($doc.services | Where-Object { $_.name -eq 'TermService' }).status | Should -Be 'Stopped'
    ($doc.services | Where-Object { $_.name -eq 'UmRdpService' }).status | Should -Be 'Missing'
  }

  It 'reports a listener WMI does not know, and an unreadable WMI with its category' {
    (Invoke-RdpScript 'inspect.ps1' @{ terminalName = 'RDP-Nope' }).tsSetting | Should -BeNullOrEmpty
    Mock Get-CimInstance { throw [System.UnauthorizedAccessException]::new('Access denied') }
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    $doc.tsSettingError | Should -Be 'Access denied'
  }

  It 'rejects parameters that are not data it expects' {
    { Invoke-AsSent 'inspect.ps1' '{"terminalName":"RDP-tcp''; Remove-Item x"}' } | Should -Throw '*terminalName*'
    { Invoke-AsSent 'inspect.ps1' '{"eventDays":0}' } | Should -Throw '*eventDays*'
    { Invoke-AsSent 'inspect.ps1' '{"eventDays":999}' } | Should -Throw '*eventDays*'
  }

  It 'reports a hash that is not 40 hex digits as a part error' {
    $WinModel.Listeners['RDP-Tcp'].RegistryHash = 'XYZ'
    $doc = Invoke-RdpScript 'inspect.ps1' @{}
    ($doc.errors | Where-Object { $_.part -eq 'certificate' }).message | Should -Match '40 hexadecimal'
  }
}

Describe 'backup.ps1' {
  It 'backs up Windows'' own non-exportable certificate without a PFX, and the default binding (type 1, no registry value)' {
    $doc = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop'; password = 'pw' }
    $doc.pfx | Should -BeNullOrEmpty
    $doc.exportable | Should -BeFalse
    $doc.exportError | Should -Match 'not valid for use'
    $doc.rawData | Should -Not -BeNullOrEmpty
    $doc.binding.hashType | Should -Be 1
    $doc.binding.registryHashPresent | Should -BeFalse
    $doc.binding.registryHash | Should -BeNullOrEmpty
  }

  It 'backs up an exportable custom certificate as a PFX, and the registry value it is bound by' {
    $custom = Add-Cert @{ Store = 'My'; Exportable = $true }
    Set-Binding $custom.Thumbprint
    $doc = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $custom.Thumbprint; store = 'My'; password = 'pw' }
    $doc.exportable | Should -BeTrue
    $doc.pfx | Should -Not -BeNullOrEmpty
    $doc.binding.registryHashPresent | Should -BeTrue
    $doc.binding.registryHash | Should -Be $custom.Thumbprint
    $doc.binding.hashType | Should -Be 3
  }

  It 'backs up the binding alone when no certificate is installed (a dangling thumbprint)' {
    Set-Binding ('CD' * 20)
    $doc = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $null; store = $null; password = 'pw' }
    $doc.rawData | Should -BeNullOrEmpty
    $doc.binding.registryHash | Should -Be ('CD' * 20)
  }

  It 'rejects a thumbprint or store that is not data it expects' {
    { Invoke-RdpScript 'backup.ps1' @{ thumbprint = 'nope'; store = 'My' } } | Should -Throw '*40 hex*'
    { Invoke-RdpScript 'backup.ps1' @{ thumbprint = ('AB' * 20); store = 'Root' } } | Should -Throw '*store*'
  }
}

Describe 'remove.ps1' {
  It 'removes Windows'' own certificate with its key (-DeleteKey) from Remote Desktop where the key opens (SYSTEM, Server 2016)' {
    $WinModel.CallerSids = @('S-1-5-18')
    $old = $WinModel.SelfSignedThumbprint
    $doc = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $old; store = 'Remote Desktop'; clearConfigured = $false }
    @($doc.removed) | Should -Be @("Cert:\LocalMachine\Remote Desktop\$old")
    Get-ModelCertificate 'Remote Desktop' $old | Should -BeNullOrEmpty
    @($WinModel.OrphanKeyFiles).Count | Should -Be 0
    @($WinModel.Violations).Count | Should -Be 0
  }

  It 'a key that will not open for -DeleteKey (Server 2019+ as admin, or damaged): the certificate, then its key file by name, so that Windows can create TSSecKeySet1 again [EV02 2.9, 03 3.3]' {
    (Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint).KeyBroken = $true
    $old = $WinModel.SelfSignedThumbprint
    $doc = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $old; store = 'Remote Desktop' }
    @($doc.removed) | Should -Be @("Cert:\LocalMachine\Remote Desktop\$old", 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_c5d2b969-b61a-4159-8f78-6391a1c805db')
    $doc.keyError | Should -Match 'Keyset does not exist'
    @($WinModel.OrphanKeyFiles).Count | Should -Be 0
    Invoke-ModelServiceStarted 'SessionEnv'
    $WinModel.SelfSignedThumbprint | Should -Not -Be $old
    (Get-ModelPresented).kind | Should -Be 'tls'
  }

  It 'the model: a key file left behind blocks the new certificate (1058 object already exists) [EV02 2.9]' {
    $old = $WinModel.SelfSignedThumbprint
    Remove-Item -LiteralPath "Cert:\LocalMachine\Remote Desktop\$old"
    Invoke-ModelServiceStarted 'SessionEnv'
    $WinModel.SelfSignedThumbprint | Should -Be $old
    ($WinModel.Events | Where-Object { $_.Id -eq 1058 }).Message | Should -Match 'object already exists'
  }

  It 'never removes from My' {
    $custom = Add-Cert @{ Store = 'My' }
    { Invoke-RdpScript 'remove.ps1' @{ thumbprint = $custom.Thumbprint; store = 'My' } } | Should -Throw '*Remote Desktop*'
    Get-ModelCertificate 'My' $custom.Thumbprint | Should -Not -BeNullOrEmpty
  }

  It 'refuses to delete when the key folders'' ACL would keep Windows from issuing a new certificate (1057/1058), and never suggests Administrators Full Control on every key' {
    $WinModel.KeyFolderAcl.Keys = @('S-1-1-0:R', 'S-1-5-18:0x120089')
    $doc = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop' }
    $doc.refused | Should -Be 'key-folders-acl'
    $doc.fix | Should -Match 'S-1-1-0:\(R,W\)'
    $doc.fix | Should -Not -Match '\(OI\)|\(CI\)'
    Get-ModelCertificate 'Remote Desktop' $WinModel.SelfSignedThumbprint | Should -Not -BeNullOrEmpty
  }

  It 'deletes on the documented default ACL (no SYSTEM entry, KB 278381) and on a GENERIC_ALL grant [EV01 1.1, 1.5]' {
    $WinModel.KeyFolderAcl.MachineKeys | Should -Be @('S-1-1-0:0x12019f', 'S-1-5-32-544:F')
    $doc = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop' }
    $doc.refused | Should -BeNullOrEmpty
    New-WindowsModel
    $WinModel.KeyFolderAcl.Keys = @('S-1-5-32-544:0x10000000')
    (Invoke-RdpScript 'remove.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop' }).refused | Should -BeNullOrEmpty
  }

  It 'leaves a Group Policy template binding (type 2) alone' {
    $template = Add-Cert @{ Store = 'My'; Issuer = 'CN=Corp CA' }
    $WinModel.Listeners['RDP-Tcp'].HashType = 2
    $WinModel.Listeners['RDP-Tcp'].TemplateHash = $template.Thumbprint
    $doc = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop'; clearConfigured = $true }
    $doc.refused | Should -Be 'group-policy-template'
    @($doc.removed).Count | Should -Be 0
  }

  It 'clears a dangling thumbprint by removing the registry value (back to type 1), and is idempotent' {
    Set-Binding ('AB' * 20)
    $doc = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $null; store = $null; clearConfigured = $true }
    $doc.clearedConfigured | Should -BeTrue
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 1
    (Invoke-RdpScript 'remove.ps1' @{ clearConfigured = $true }).clearedConfigured | Should -BeFalse
  }
}

Describe 'restart.ps1' {
  It 'restarts SessionEnv only when that issues the new certificate, and prints nothing but its JSON' {
    $old = $WinModel.SelfSignedThumbprint
    $null = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $old; store = 'Remote Desktop' }
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $old; serviceWaitSeconds = 20; certificateWaitSeconds = 1 }
    @($doc.restarted) | Should -Be @('SessionEnv')
    $doc.thumbprint | Should -Be $WinModel.SelfSignedThumbprint
    $doc.thumbprint | Should -Not -Be $old
    $WinModel.Services.TermService.Status | Should -Be 'Running'
    ($WinModel.Events | Where-Object { $_.Id -eq 1056 }) | Should -Not -BeNullOrEmpty
  }

  It 'then stops UmRdpService first and restarts TermService when only that issues it (bounded waits)' {
    $WinModel.IssuesOnRestartOf = 'TermService'
    # [EV05 5.2-5.5]: TermService hangs in Stopping while UmRdpService still runs.
    $WinModel.Services.TermService.Hangs = 'unless-dependents-stopped'
    $old = $WinModel.SelfSignedThumbprint
    $null = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $old; store = 'Remote Desktop' }
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $old; serviceWaitSeconds = 20; certificateWaitSeconds = 1 }
    @($doc.restarted) | Should -Be @('SessionEnv', 'TermService')
    $doc.thumbprint | Should -Be $WinModel.SelfSignedThumbprint
    $doc.stuck | Should -BeNullOrEmpty
    $WinModel.Services.UmRdpService.Status | Should -Be 'Running'
    @($WinModel.Violations).Count | Should -Be 0
  }

  It 'reports TermService stuck in StopPending with its fix instead of waiting for ever' {
    $WinModel.IssuesOnRestartOf = 'TermService'
    $WinModel.Services.TermService.Hangs = $true
    $old = $WinModel.SelfSignedThumbprint
    $null = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $old; store = 'Remote Desktop' }
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $old; serviceWaitSeconds = 20; certificateWaitSeconds = 1 }
    $doc.stuck | Should -Be 'TermService'
    $doc.fix | Should -Match 'taskkill'
    $doc.thumbprint | Should -BeNullOrEmpty
    @($WinModel.Violations).Count | Should -Be 0
  }

  It 'fails at once with the new 1057 event when Windows cannot issue a certificate, without restarting TermService' {
    $old = $WinModel.SelfSignedThumbprint
    $null = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $old; store = 'Remote Desktop' }
    $WinModel.KeyFolderAcl.MachineKeys = @('S-1-1-0:R')
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $old; serviceWaitSeconds = 20; certificateWaitSeconds = 600 }
    $doc.thumbprint | Should -BeNullOrEmpty
    $doc.failureEvents[0].id | Should -Be 1057
    $doc.failureEvents[0].message | Should -Match 'failed to create'
    @($doc.restarted) | Should -Be @('SessionEnv')
  }

  It 'after a dangling binding was cleared, SessionEnv suffices and the existing certificate counts' {
    Set-Binding ('AB' * 20)
    $null = Invoke-RdpScript 'remove.ps1' @{ clearConfigured = $true }
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = ('AB' * 20); expectNewCertificate = $false; certificateWaitSeconds = 1 }
    @($doc.restarted) | Should -Be @('SessionEnv')
    $doc.thumbprint | Should -Be $WinModel.SelfSignedThumbprint
  }

  It 'gives up after its bounded wait when no certificate appears, and reports a service that does not start' {
    $WinModel.IssuesOnRestartOf = 'nobody'
    $WinModel.Services.Remove('UmRdpService')
    # TermService takes 6 s to stop in the model: a 5 s bound would report it stuck.
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $WinModel.SelfSignedThumbprint; serviceWaitSeconds = 20; certificateWaitSeconds = 1 }
    @($doc.restarted) | Should -Be @('SessionEnv', 'TermService')
    $doc.thumbprint | Should -BeNullOrEmpty
    New-WindowsModel
    $WinModel.Services.SessionEnv.StartFails = 'The dependency service or group failed to start (1068).'
    Mock Get-Service { $o = New-ModelServiceObject $Name[0]; $o | Add-Member -Force -MemberType ScriptMethod -Name Start -Value { }; $o }
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $WinModel.SelfSignedThumbprint; serviceWaitSeconds = 5; certificateWaitSeconds = 1 }
    $doc.stuck | Should -Be 'SessionEnv'
    $doc.fix | Should -Match '1068'
  }

  It 'a Disabled SessionEnv: a typed stuck with its fix, checked before anything is stopped (not exit 1 with a raw .NET message)' {
    $WinModel.Services.SessionEnv.StartType = 'Disabled'
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $WinModel.SelfSignedThumbprint; certificateWaitSeconds = 1 }
    $doc.stuck | Should -Be 'SessionEnv'
    $doc.fix | Should -Match 'Set-Service SessionEnv -StartupType Manual'
    $WinModel.Services.SessionEnv.Status | Should -Be 'Running'
    @($doc.restarted).Count | Should -Be 0
  }

  It 'a Start() that throws (a failing dependency) is a typed stuck with the message, not exit 1' {
    $WinModel.Services.SessionEnv.StartFails = 'The dependency service or group failed to start.'
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $WinModel.SelfSignedThumbprint; certificateWaitSeconds = 1 }
    $doc.stuck | Should -Be 'SessionEnv'
    $doc.fix | Should -Match 'did not start within 20 s \(.*dependency service'
  }

  It '.NET Framework''s Stop() takes running dependents down: they are started again [GUESS: a dependent of SessionEnv]' {
    $WinModel.Services['RdpModelDependent'] = [ordered]@{ DisplayName = 'A dependent'; Status = 'Running'; StartType = 'Manual'; DependsOn = @('SessionEnv'); StopSeconds = 0; Hangs = $false; StartFails = $null }
    $WinModel.IssuesOnRestartOf = 'nobody'
    $WinModel.Certificates.Clear()
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = ('AB' * 20); certificateWaitSeconds = 1; allowTermService = $false }
    @($doc.restarted) | Should -Be @('SessionEnv')
    $WinModel.Services.RdpModelDependent.Status | Should -Be 'Running'
  }

  It 'inside an RDP session (allowTermService false) never restarts TermService, and says why' {
    $WinModel.IssuesOnRestartOf = 'TermService'
    $doc = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = $WinModel.SelfSignedThumbprint; certificateWaitSeconds = 1; allowTermService = $false }
    @($doc.restarted) | Should -Be @('SessionEnv')
    $doc.thumbprint | Should -BeNullOrEmpty
    $doc.fix | Should -Match 'TermService was not restarted: this runs inside an RDP session'
  }

  It 'never calls the unbounded service cmdlets (their warnings would reach stdout)' {
    Mock Restart-Service { throw 'unbounded' }
    Mock Stop-Service { throw 'unbounded' }
    $null = Invoke-RdpScript 'restart.ps1' @{ oldThumbprint = ('00' * 20); certificateWaitSeconds = 1 }
    Should -Invoke Restart-Service -Times 0
    Should -Invoke Stop-Service -Times 0
  }
}

Describe 'restore.ps1' {
  It 'cannot re-import a non-exportable key and says so; puts the default binding back by removing the registry value' {
    $old = $WinModel.SelfSignedThumbprint
    $null = Invoke-RdpScript 'remove.ps1' @{ thumbprint = $old; store = 'Remote Desktop' }
    $WinModel.Listeners['RDP-Tcp'].RegistryHash = ('AB' * 20)
    Mock Set-CimInstance { throw 'WMI must not be used to restore' }
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'Remote Desktop'; thumbprint = $old; pfx = $null; binding = @{ terminalName = 'RDP-Tcp'; registryHashPresent = $false; registryHash = $null } }
    $doc.certificateRestored | Should -BeFalse
    $doc.certificateError | Should -Match 'not exportable'
    $doc.binding.registryHashPresent | Should -BeFalse
    $doc.binding.hashType | Should -Be 1
    Should -Invoke Set-CimInstance -Times 0
  }

  It 're-imports a custom certificate from its PFX, grants NETWORK SERVICE Read on exactly its key file, and writes the registry value as binary (never WMI)' {
    $custom = Add-Cert @{ Store = 'My'; Exportable = $true; KeyAcl = @('S-1-5-18:F', 'S-1-5-20:R') }
    Set-Binding $custom.Thumbprint
    $backup = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $custom.Thumbprint; store = 'My'; password = 'pw' }
    [void]$WinModel.Certificates.Remove((Get-ModelCertificate 'My' $custom.Thumbprint)); $WinModel.Removed.Add($custom)
    $WinModel.Listeners['RDP-Tcp'].RegistryHash = $null; $WinModel.Listeners['RDP-Tcp'].HashType = 1
    Mock Set-CimInstance { throw 'WMI must not be used to restore' }
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'My'; thumbprint = $custom.Thumbprint; pfx = $backup.pfx; password = 'pw'; binding = $backup.binding }
    $doc.imported | Should -BeTrue
    $doc.grantedNetworkService | Should -BeTrue
    $restored = Get-ModelCertificate 'My' $custom.Thumbprint
    $doc.keyFile | Should -Be ('C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\' + $restored.KeyFileName)
    $restored.KeyAcl | Should -Contain 'S-1-5-20:R'
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -Be $custom.Thumbprint
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 3
    @($WinModel.Violations).Count | Should -Be 0
    Should -Invoke Set-CimInstance -Times 0
    (Get-ModelPresented).thumbprint | Should -Be $custom.Thumbprint
  }

  It 'grants a CNG key under Crypto\Keys, and reports a grant that fails without failing the restore' {
    $custom = Add-Cert @{ Store = 'My'; Exportable = $true; KeyProvider = 'CNG' }
    $backup = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $custom.Thumbprint; store = 'My'; password = 'pw' }
    [void]$WinModel.Certificates.Remove((Get-ModelCertificate 'My' $custom.Thumbprint)); $WinModel.Removed.Add($custom)
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'My'; thumbprint = $custom.Thumbprint; pfx = $backup.pfx; password = 'pw' }
    $doc.keyFile | Should -BeLike 'C:\ProgramData\Microsoft\Crypto\Keys\*'
    $doc.grantedNetworkService | Should -BeTrue
    [void]$WinModel.Certificates.Remove((Get-ModelCertificate 'My' $custom.Thumbprint))
    Mock Grant-NetworkServiceRead { throw 'icacls failed (5): Access is denied.' }
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'My'; thumbprint = $custom.Thumbprint; pfx = $backup.pfx; password = 'pw' }
    $doc.imported | Should -BeTrue
    $doc.grantError | Should -Match 'Access is denied'
  }

  It 'leaves an unchanged binding exactly as it is (no write)' {
    $custom = Add-Cert @{ Store = 'My' }
    Set-Binding $custom.Thumbprint
    Mock Set-ItemProperty { throw 'no write expected' }
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'My'; thumbprint = $custom.Thumbprint; binding = @{ terminalName = 'RDP-Tcp'; registryHashPresent = $true; registryHash = $custom.Thumbprint.ToLowerInvariant() } }
    $doc.binding.registryHashPresent | Should -BeTrue
    Should -Invoke Set-ItemProperty -Times 0
  }

  It 'leaves an installed certificate as it is and rejects data it does not expect' {
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'Remote Desktop'; thumbprint = $WinModel.SelfSignedThumbprint }
    $doc.certificateRestored | Should -BeTrue
    $doc.imported | Should -BeFalse
    { Invoke-RdpScript 'restore.ps1' @{ store = 'Root'; thumbprint = ('AB' * 20) } } | Should -Throw '*store*'
    { Invoke-RdpScript 'restore.ps1' @{ store = 'My'; thumbprint = 'x' } } | Should -Throw '*40 hex*'
    { Invoke-RdpScript 'restore.ps1' @{ binding = @{ registryHashPresent = $true; registryHash = 'zz' } } } | Should -Throw '*registryHash*'
  }
}

Describe 'deploy.ps1' {
  It 'imports a PFX into My (not Remote Desktop), grants NETWORK SERVICE Read on exactly its CAPI key file, binds through CIM, and reports the previous binding' {
    $other = Add-Cert @{ Store = 'My'; Subject = 'CN=other.example.test'; Issuer = 'CN=Example CA' }
    $pfx = New-TestPfx
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint.ToLowerInvariant(); pfx = $pfx.Pfx; password = $pfx.Password; intermediates = @(); terminalName = 'RDP-Tcp' }
    $doc.refused | Should -BeNullOrEmpty
    $doc.imported | Should -BeTrue
    $doc.bound | Should -BeTrue
    $doc.hashType | Should -Be 3
    $doc.granted | Should -Be 'granted'
    $doc.keyProvider | Should -Be 'CAPI'
    $doc.previous.hashType | Should -Be 1
    $doc.previous.registryHashPresent | Should -BeFalse
    $doc.previous.wmiHash | Should -Be $WinModel.SelfSignedThumbprint
    $mine = Get-ModelCertificate 'My' $pfx.Thumbprint
    $mine.HasPrivateKey | Should -BeTrue
    Get-ModelCertificate 'Remote Desktop' $pfx.Thumbprint | Should -BeNullOrEmpty
    $doc.keyFile | Should -Be ('C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\' + $mine.KeyFileName)
    Get-KeyAcl $pfx.Thumbprint | Should -Contain 'S-1-5-20:R'
    # Exactly that key: another certificate's key file and Windows' own are untouched.
    Get-KeyAcl $other.Thumbprint | Should -Not -Contain 'S-1-5-20:R'
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -Be $pfx.Thumbprint
    (Get-ModelPresented).thumbprint | Should -Be $pfx.Thumbprint
    @($WinModel.Events | Where-Object { $_.Id -in 1051, 1055, 1059 }).Count | Should -Be 0
    $WinModel.Violations | Should -BeNullOrEmpty
  }

  It 'finds a CNG key under Crypto\Keys (an EC key, or a PFX that lands in a KSP) and grants exactly that file' {
    $WinModel.PfxKeyProvider = 'CNG'
    $pfx = New-TestPfx
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = $pfx.Password }
    $doc.keyProvider | Should -Be 'CNG'
    $doc.keyFile | Should -Be ('C:\ProgramData\Microsoft\Crypto\Keys\' + (Get-ModelCertificate 'My' $pfx.Thumbprint).KeyFileName)
    Get-KeyAcl $pfx.Thumbprint | Should -Contain 'S-1-5-20:R'
    $ec = New-TestPfx -Ec -Subject 'CN=ec.example.test'
    $WinModel.PfxKeyProvider = 'CAPI'
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $ec.Thumbprint; pfx = $ec.Pfx; password = $ec.Password }
    $doc.keyProvider | Should -Be 'CNG'
    $doc.bound | Should -BeTrue
    (Get-ModelPresented).thumbprint | Should -Be $ec.Thumbprint
  }

  It 'adds intermediates to LocalMachine\CA once, and never a certificate to Remote Desktop' {
    $pfx = New-TestPfx
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = $pfx.Password; intermediates = @($pfx.CaRawData) }
    @($doc.intermediatesAdded) | Should -Be @($pfx.CaThumbprint)
    (Get-ModelCertificate 'CA' $pfx.CaThumbprint).HasPrivateKey | Should -BeFalse
    $again = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = $pfx.Password; intermediates = @($pfx.CaRawData) }
    @($again.intermediatesAdded).Count | Should -Be 0
    $again.imported | Should -BeFalse
    $again.granted | Should -Be 'already'
    @(Get-Rd).Count | Should -Be 1
  }

  It 'a wrong PFX password is an error, and nothing is bound' {
    $pfx = New-TestPfx
    { Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = 'wrong' } } | Should -Throw '*password*'
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 1
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -BeNullOrEmpty
  }

  It 'binds a --thumbprint certificate already in My with its key; refuses one not in My or without a private key, changing nothing' {
    $held = Add-Cert @{ Store = 'My'; Subject = 'CN=rdp.example.test'; Issuer = 'CN=Corp CA'; KeyAcl = @('S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R') }
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $held.Thumbprint; pfx = $null; password = $null }
    $doc.imported | Should -BeFalse
    $doc.granted | Should -Be 'already'
    $doc.bound | Should -BeTrue
    New-WindowsModel
    $inRd = Add-Cert @{ Store = 'Remote Desktop'; Subject = 'CN=rd.example.test' }
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $inRd.Thumbprint }
    $doc.refused | Should -Be 'not-in-my'
    $doc.fix | Should -BeLike '*LocalMachine\My*'
    $keyless = Add-Cert @{ Store = 'My'; HasPrivateKey = $false }
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $keyless.Thumbprint }
    $doc.refused | Should -Be 'no-private-key'
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 1
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -BeNullOrEmpty
  }

  It 'refuses a binding a Group Policy template manages (HashType 2): nothing imported, nothing bound' {
    $t = Add-Cert @{ Store = 'My'; Issuer = 'CN=Corp Issuing CA' }
    $WinModel.Listeners['RDP-Tcp'].HashType = 2; $WinModel.Listeners['RDP-Tcp'].TemplateHash = $t.Thumbprint
    $pfx = New-TestPfx
    $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = $pfx.Password }
    $doc.refused | Should -Be 'group-policy-template'
    $doc.fix | Should -BeLike '*certutil -pulse*'
    $doc.imported | Should -BeFalse
    Get-ModelCertificate 'My' $pfx.Thumbprint | Should -BeNullOrEmpty
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 2
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -BeNullOrEmpty
  }

  It 'does not bind when NETWORK SERVICE cannot be granted Read (Windows would fall back), and says why' {
    $pfx = New-TestPfx
    Set-Alias -Name Grant-NetworkServiceRead -Value Grant-FailingRead -Scope Global
    function global:Grant-FailingRead([string]$Path) { throw 'icacls failed (5): Access is denied.' }
    try {
      $doc = Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = $pfx.Password }
    } finally {
      Set-Alias -Name Grant-NetworkServiceRead -Value Grant-ModelNetworkServiceRead -Scope Global
    }
    $doc.refused | Should -Be 'grant-failed'
    $doc.fix | Should -BeLike '*Access is denied*'
    $doc.imported | Should -BeTrue
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -BeNullOrEmpty
  }

  It 'the model: WMI refuses a certificate not in My ("Invalid parameter"), and a bound key NETWORK SERVICE cannot read falls back with 1059 and Schannel 36870' {
    $rd = Add-Cert @{ Store = 'Remote Desktop'; Subject = 'CN=rd.example.test' }
    $setting = Get-CimInstance -Namespace 'root\cimv2\TerminalServices' -ClassName 'Win32_TSGeneralSetting' -Filter "TerminalName='RDP-Tcp'"
    { Set-CimInstance -InputObject $setting -Property @{ SSLCertificateSHA1Hash = $rd.Thumbprint } } | Should -Throw '*Invalid parameter*'
    $unreadable = Add-Cert @{ Store = 'My'; Issuer = 'CN=Corp CA' }
    Set-CimInstance -InputObject $setting -Property @{ SSLCertificateSHA1Hash = $unreadable.Thumbprint }
    (Get-ModelPresented).thumbprint | Should -Be $WinModel.SelfSignedThumbprint
    [void](Get-ModelPresented)
    @($WinModel.Events | Where-Object { $_.Id -eq 1059 }).Count | Should -Be 1
    @($WinModel.Events | Where-Object { $_.Id -eq 36870 }).Count | Should -Be 1
  }

  It 'rejects data it does not expect' {
    { Invoke-RdpScript 'deploy.ps1' @{ thumbprint = 'not-hex' } } | Should -Throw '*40 hex*'
    { Invoke-RdpScript 'deploy.ps1' @{ thumbprint = ('A' * 40); terminalName = "RDP'; x" } } | Should -Throw '*terminalName*'
    { Invoke-RdpScript 'deploy.ps1' @{ thumbprint = ('A' * 40); terminalName = 'RDP-Nowhere' } } | Should -Throw '*no listener*'
  }
}

Describe 'events.ps1' {
  It 'returns the fallback events 1051/1055/1059 since the deploy started, and nothing older or else' {
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1059 'old fallback'
    $WinModel.Events[-1].TimeCreated = (Get-Date).ToUniversalTime().AddHours(-1).ToString('o')
    $since = [DateTimeOffset]::UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds()
    (Invoke-RdpScript 'events.ps1' @{ sinceMs = $since }).events | Should -BeNullOrEmpty
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1056 'a new self-signed certificate'
    Add-ModelEvent 'Schannel' 1059 'not the provider'
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1055 "fell back`nsecond line"
    $doc = Invoke-RdpScript 'events.ps1' @{ sinceMs = $since }
    @($doc.events).Count | Should -Be 1
    $doc.events[0].id | Should -Be 1055
    $doc.events[0].message | Should -Be 'fell back'
    @((Invoke-RdpScript 'events.ps1' @{ sinceMs = $since; ids = @(1056) }).events).Count | Should -Be 1
  }
}

Describe 'candidates.ps1' {
  It 'lists the certificates in My that hold a private key, as raw DER, and nothing from Remote Desktop' {
    $a = Add-Cert @{ Store = 'My'; Issuer = 'CN=Corp CA' }
    [void](Add-Cert @{ Store = 'My'; HasPrivateKey = $false })
    $doc = Invoke-RdpScript 'candidates.ps1' @{}
    @($doc.certificates).Count | Should -Be 1
    $doc.certificates[0].thumbprint | Should -Be $a.Thumbprint
    $doc.certificates[0].rawData | Should -Be $a.RawData
    $doc.certificates[0].hasPrivateKey | Should -BeTrue
    New-WindowsModel
    @((Invoke-RdpScript 'candidates.ps1' @{}).certificates).Count | Should -Be 0
  }
}

Describe 'a deploy''s rollback (backup.ps1, restore.ps1) and remove-old.ps1' {
  It 'default binding before (no registry value): the rollback removes the value again (type 1) and the certificate the deploy imported, with its key' {
    $pfx = New-TestPfx
    $backup = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop'; password = 'x'; deployThumbprint = $pfx.Thumbprint }
    $backup.deployPresent | Should -BeFalse
    [void](Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = $pfx.Password })
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'Remote Desktop'; thumbprint = $WinModel.SelfSignedThumbprint; binding = $backup.binding; removeDeployed = $pfx.Thumbprint }
    $doc.removedDeployed | Should -Be ('Cert:\LocalMachine\My\' + $pfx.Thumbprint)
    $doc.bindingWritten | Should -BeTrue
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 1
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -BeNullOrEmpty
    Get-ModelCertificate 'My' $pfx.Thumbprint | Should -BeNullOrEmpty
    (Get-ModelPresented).thumbprint | Should -Be $WinModel.SelfSignedThumbprint
    $WinModel.Violations | Should -BeNullOrEmpty
  }

  It 'custom binding before (registry value present): the rollback writes that exact value back (type 3) and keeps a certificate My held before' {
    $old = Add-Cert @{ Store = 'My'; Subject = 'CN=old.example.test'; Issuer = 'CN=Corp CA'; KeyAcl = @('S-1-5-18:F', 'S-1-5-20:R') }
    Set-Binding $old.Thumbprint
    $new = Add-Cert @{ Store = 'My'; Subject = 'CN=new.example.test'; Issuer = 'CN=Corp CA' }
    $backup = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $old.Thumbprint; store = 'My'; password = 'x'; deployThumbprint = $new.Thumbprint }
    $backup.deployPresent | Should -BeTrue
    $backup.binding.registryHashPresent | Should -BeTrue
    [void](Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $new.Thumbprint })
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -Be $new.Thumbprint
    # Node passes removeDeployed only for a certificate the deploy imported: here, none.
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'My'; thumbprint = $old.Thumbprint; binding = $backup.binding; removeDeployed = $null }
    $doc.removedDeployed | Should -BeNullOrEmpty
    $doc.bindingWritten | Should -BeTrue
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 3
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -Be $old.Thumbprint
    Get-ModelCertificate 'My' $new.Thumbprint | Should -Not -BeNullOrEmpty
    (Get-ModelPresented).thumbprint | Should -Be $old.Thumbprint
  }

  It 'a deploy refused before binding: the rollback writes nothing (bindingWritten false) and removes nothing' {
    $backup = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop'; password = 'x'; deployThumbprint = ('C' * 40) }
    (Invoke-RdpScript 'deploy.ps1' @{ thumbprint = ('C' * 40) }).refused | Should -Be 'not-in-my'
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'Remote Desktop'; thumbprint = $WinModel.SelfSignedThumbprint; binding = $backup.binding; removeDeployed = ('C' * 40) }
    $doc.bindingWritten | Should -BeFalse
    $doc.removedDeployed | Should -BeNullOrEmpty
    $WinModel.Listeners['RDP-Tcp'].HashType | Should -Be 1
  }

  It 'never removes an imported certificate that a listener still names' {
    $WinModel.Listeners['RDP-Tcp-Admin'] = [ordered]@{ PortNumber = 3390; SecurityLayer = 2; UserAuthentication = 1; HashType = 1; RegistryHash = $null; TemplateHash = $null }
    $pfx = New-TestPfx
    $backup = Invoke-RdpScript 'backup.ps1' @{ thumbprint = $WinModel.SelfSignedThumbprint; store = 'Remote Desktop'; password = 'x'; deployThumbprint = $pfx.Thumbprint }
    [void](Invoke-RdpScript 'deploy.ps1' @{ thumbprint = $pfx.Thumbprint; pfx = $pfx.Pfx; password = $pfx.Password })
    # Someone bound the second listener to it meanwhile.
    $WinModel.Listeners['RDP-Tcp-Admin'].RegistryHash = $pfx.Thumbprint; $WinModel.Listeners['RDP-Tcp-Admin'].HashType = 3
    $doc = Invoke-RdpScript 'restore.ps1' @{ store = 'Remote Desktop'; thumbprint = $WinModel.SelfSignedThumbprint; binding = $backup.binding; removeDeployed = $pfx.Thumbprint }
    $doc.keptDeployed | Should -Be 'a listener still uses it'
    Get-ModelCertificate 'My' $pfx.Thumbprint | Should -Not -BeNullOrEmpty
    $WinModel.Listeners['RDP-Tcp'].RegistryHash | Should -BeNullOrEmpty
    { Invoke-RdpScript 'restore.ps1' @{ binding = $backup.binding; removeDeployed = 'nope' } } | Should -Throw '*40 hex*'
  }

  It 'remove-old.ps1 removes the previous certificate with its key, never the new one, never one a listener still names' {
    $old = Add-Cert @{ Store = 'My'; Subject = 'CN=old.example.test'; Issuer = 'CN=Corp CA' }
    $new = Add-Cert @{ Store = 'My'; Subject = 'CN=new.example.test'; Issuer = 'CN=Corp CA' }
    Set-Binding $new.Thumbprint
    (Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $new.Thumbprint; store = 'My'; keep = $new.Thumbprint }).kept | Should -Be 'it is the certificate just deployed'
    $WinModel.Listeners['RDP-Tcp-Admin'] = [ordered]@{ PortNumber = 3390; SecurityLayer = 2; UserAuthentication = 1; HashType = 3; RegistryHash = $old.Thumbprint; TemplateHash = $null }
    (Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $old.Thumbprint; store = 'My'; keep = $new.Thumbprint }).kept | Should -Be 'a listener still uses it'
    Get-ModelCertificate 'My' $old.Thumbprint | Should -Not -BeNullOrEmpty
    $WinModel.Listeners.Remove('RDP-Tcp-Admin')
    $doc = Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $old.Thumbprint; store = 'My'; keep = $new.Thumbprint }
    @($doc.removed) | Should -Be @('Cert:\LocalMachine\My\' + $old.Thumbprint)
    Get-ModelCertificate 'My' $old.Thumbprint | Should -BeNullOrEmpty
    Get-ModelCertificate 'My' $new.Thumbprint | Should -Not -BeNullOrEmpty
    (Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $old.Thumbprint; store = 'My'; keep = $new.Thumbprint }).kept | Should -Be 'it is no longer installed'
    $WinModel.Violations | Should -BeNullOrEmpty
  }

  It 'remove-old.ps1 removes Windows'' own certificate from Remote Desktop once a custom one is bound, but not while the default binding reports it' {
    $self = $WinModel.SelfSignedThumbprint
    $new = Add-Cert @{ Store = 'My'; Issuer = 'CN=Corp CA' }
    (Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $self; store = 'Remote Desktop'; keep = $new.Thumbprint }).kept | Should -Be 'a listener still uses it'
    Set-Binding $new.Thumbprint
    # Server 2022 as an admin: the key does not open for -DeleteKey, so its file goes by name.
    @((Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $self; store = 'Remote Desktop'; keep = $new.Thumbprint }).removed) | Should -Be @(('Cert:\LocalMachine\Remote Desktop\' + $self), 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_c5d2b969-b61a-4159-8f78-6391a1c805db')
    @($WinModel.OrphanKeyFiles).Count | Should -Be 0
    { Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $self; store = 'CA'; keep = $new.Thumbprint } } | Should -Throw '*store*'
    { Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = $self; store = 'My'; keep = 'x' } } | Should -Throw '*keep*'
    { Invoke-RdpScript 'remove-old.ps1' @{ thumbprint = 'x'; store = 'My'; keep = $self } } | Should -Throw '*thumbprint*'
  }
}

Describe 'handoff.ps1' {
  It 'registers a one-off SYSTEM task that runs on battery, has an end and deletes itself, and runs once (its trigger; never also Start-ScheduledTask)' {
    $doc = Invoke-RdpScript 'handoff.ps1' @{ taskName = 'rdpcert-rotate-once'; execute = 'C:\Program Files\nodejs\node.exe'; arguments = '"C:\Program Files\rdpcert\main.js" rotate --yes --in-session' }
    $doc.taskName | Should -Be 'rdpcert-rotate-once'
    $task = $WinModel.ScheduledTasks['rdpcert-rotate-once']
    $task.UserId | Should -Be 'S-1-5-18'
    $task.RunLevel | Should -Be 'Highest'
    $task.DisallowStartIfOnBatteries | Should -BeFalse
    $task.StopIfGoingOnBatteries | Should -BeFalse
    $task.HasEndBoundary | Should -BeTrue
    $task.DeleteExpiredTaskAfter | Should -Not -BeNullOrEmpty
    # The model: Start-ScheduledTask would mark it started; the one-off trigger (HasTrigger) runs it once.
    $task.Started | Should -BeFalse
    $task.HasTrigger | Should -BeTrue
    ([datetime]$doc.started) | Should -BeGreaterThan (Get-Date).ToUniversalTime().AddSeconds(-1)
    $task.Execute | Should -Be 'C:\Program Files\nodejs\node.exe'
  }

  It 'rejects a task name that is not plain and an executable that is not an absolute path' {
    { Invoke-RdpScript 'handoff.ps1' @{ taskName = 'a;b'; execute = 'C:\node.exe' } } | Should -Throw '*taskName*'
    { Invoke-RdpScript 'handoff.ps1' @{ taskName = 'ok'; execute = 'node.exe' } } | Should -Throw '*absolute*'
  }
}

Describe 'client.ps1' {
  BeforeEach {
    $script:clientHome = Join-Path ([System.IO.Path]::GetTempPath()) ('rdpcert-client-' + [guid]::NewGuid().ToString('N'))
    # Documents and LocalAppData of a throwaway profile (on Linux .NET reads MyDocuments from XDG_DOCUMENTS_DIR).
    $script:savedDocs = $env:XDG_DOCUMENTS_DIR
    $env:XDG_DOCUMENTS_DIR = Join-Path $script:clientHome 'Documents ü'
    New-Item -ItemType Directory -Force -Path $env:XDG_DOCUMENTS_DIR | Out-Null
    $script:docs = [Environment]::GetFolderPath('MyDocuments')
    $script:savedLocal = $env:LOCALAPPDATA
    $env:LOCALAPPDATA = Join-Path $script:clientHome 'AppData Local é'
    New-Item -ItemType Directory -Force -Path (Join-Path $env:LOCALAPPDATA 'Microsoft/Terminal Server Client/Cache') | Out-Null
    Set-Content -LiteralPath (Join-Path $env:LOCALAPPDATA 'Microsoft/Terminal Server Client/Cache/bcache24.bmc') -Value 'cache'
    $script:rdp = Join-Path $script:docs 'Default.rdp'
    New-Item -ItemType Directory -Force -Path $script:docs | Out-Null
    Set-Content -LiteralPath $script:rdp -Value 'full address:s:host01'
    # Default.rdp is hidden on Windows: Get-Item finds it only with -Force.
    Mock Get-Item -ParameterFilter { -not $Force -and "$LiteralPath" -like '*Default.rdp' } { throw [System.Management.Automation.ItemNotFoundException]::new('Could not find item Default.rdp.') }
    $WinModel.RegistryHkcu['HKCU:\Software\Microsoft\Terminal Server Client\Servers\host01'] = [ordered]@{ CertHash = [byte[]](1..20); UsernameHint = 'EXAMPLE\admin' }
  }
  AfterEach {
    Microsoft.PowerShell.Management\Remove-Item -LiteralPath $script:clientHome -Recurse -Force -ErrorAction SilentlyContinue
    $env:LOCALAPPDATA = $script:savedLocal
    $env:XDG_DOCUMENTS_DIR = $script:savedDocs
  }

  It 'finds the hidden Default.rdp, the bitmap cache and the stored certificate trust (under a non-ASCII path)' {
    $doc = Invoke-RdpScript 'client.ps1' @{ host = 'host01'; fix = $false; backupDir = (Join-Path $script:clientHome 'backup') }
    $script:docs | Should -Match 'ü'
    $doc.defaultRdp.path | Should -Be $script:rdp
    $doc.cache.files | Should -Be 1
    $doc.cache.path | Should -Match 'é'
    $doc.server.certHash | Should -Be '0102030405060708090A0B0C0D0E0F1011121314'
    @($doc.actions).Count | Should -Be 0
  }

  It 'with fix, backs each item up, removes it, and when a locked file stops it, says what it had already removed' {
    Mock Remove-Item -ParameterFilter { "$LiteralPath" -like '*bcache24.bmc' } { throw [System.IO.IOException]::new('The process cannot access the file because it is being used by another process.') }
    $doc = Invoke-RdpScript 'client.ps1' @{ host = 'host01'; fix = $true; backupDir = (Join-Path $script:clientHome 'backup') }
    @($doc.actions).Count | Should -Be 1
    $doc.actions[0].item | Should -Be $script:rdp
    $doc.fixError | Should -Match 'being used by another process'
    Microsoft.PowerShell.Management\Test-Path -LiteralPath (Join-Path $script:clientHome 'backup/Default.rdp') | Should -BeTrue
  }

  It 'with fix and nothing locked, removes all three and keeps their backups' {
    $doc = Invoke-RdpScript 'client.ps1' @{ host = 'host01'; fix = $true; backupDir = (Join-Path $script:clientHome 'backup') }
    @($doc.actions).Count | Should -Be 3
    $doc.fixError | Should -BeNullOrEmpty
    $WinModel.RegistryHkcu.Count | Should -Be 0
    (Get-Content -Raw -LiteralPath (Join-Path $script:clientHome 'backup/server-host01.json') | ConvertFrom-Json).certHash | Should -Be '0102030405060708090A0B0C0D0E0F1011121314'
  }

  It 'rejects a host that is not a name or address' {
    { Invoke-RdpScript 'client.ps1' @{ host = 'a b;c' } } | Should -Throw '*not a host*'
  }
}

Describe 'client-pin.ps1 (issue 25: mstsc''s pin, written by client trust)' {
  BeforeEach {
    $script:servers = 'HKCU:\Software\Microsoft\Terminal Server Client\Servers'
    $script:sha1 = 'AC60A3FEFA6BDD565A8EE7984B6CC1FE628539D7'
  }

  It 'creates the server''s key when missing and writes CertHash as REG_BINARY, the 20 bytes of the SHA-1 in order' {
    $doc = Invoke-RdpScript 'client-pin.ps1' @{ server = 'rdp01.example.test'; certHash = $script:sha1.ToLower(); write = $true }
    $key = "$script:servers\rdp01.example.test"
    $doc.key | Should -Be $key
    $doc.before | Should -BeNullOrEmpty
    $doc.after | Should -Be $script:sha1
    $WinModel.RegistryHkcu[$key].CertHash | Should -BeOfType [byte]
    [Convert]::ToHexString([byte[]]$WinModel.RegistryHkcu[$key].CertHash) | Should -Be $script:sha1
    $WinModel.RegistryHkcuTypes["$key\CertHash"] | Should -Be 'Binary'
    @($WinModel.Violations).Count | Should -Be 0
  }

  It 'replaces an existing pin and keeps the key''s other values (UsernameHint): the key is never recreated' {
    $key = "$script:servers\rdp01.example.test"
    $WinModel.RegistryHkcu[$key] = [ordered]@{ CertHash = [byte[]](1..20); UsernameHint = 'EXAMPLE\admin' }
    $doc = Invoke-RdpScript 'client-pin.ps1' @{ server = 'rdp01.example.test'; certHash = $script:sha1; write = $true }
    $doc.before | Should -Be '0102030405060708090A0B0C0D0E0F1011121314'
    $doc.after | Should -Be $script:sha1
    $WinModel.RegistryHkcu[$key].UsernameHint | Should -Be 'EXAMPLE\admin'
  }

  It 'only reads without write, and leaves the registry as it was' {
    $key = "$script:servers\rdp02:3390"
    $WinModel.RegistryHkcu[$key] = [ordered]@{ CertHash = [byte[]](1..20) }
    $doc = Invoke-RdpScript 'client-pin.ps1' @{ server = 'rdp02:3390'; certHash = $null; write = $false }
    $doc.before | Should -Be '0102030405060708090A0B0C0D0E0F1011121314'
    $doc.after | Should -Be $doc.before
    [Convert]::ToHexString([byte[]]$WinModel.RegistryHkcu[$key].CertHash) | Should -Be '0102030405060708090A0B0C0D0E0F1011121314'
    (Invoke-RdpScript 'client-pin.ps1' @{ server = 'never-seen'; certHash = $null; write = $false }).before | Should -BeNullOrEmpty
    $WinModel.RegistryHkcu.Keys | Should -Not -Contain "$script:servers\never-seen"
  }

  It 'refuses a server name that is not a host, and a hash that is not 40 hex digits, before touching the registry' {
    { Invoke-RdpScript 'client-pin.ps1' @{ server = 'a\..\b'; certHash = $script:sha1; write = $true } } | Should -Throw '*not a host*'
    { Invoke-RdpScript 'client-pin.ps1' @{ server = 'rdp01'; certHash = 'abc'; write = $true } } | Should -Throw '*40 hexadecimal*'
    $WinModel.RegistryHkcu.Count | Should -Be 0
  }
}

Describe 'bootstrap.ps1' {
  It 'runs the named script with the input from stdin and prints its JSON after the marker, whatever the script printed before' {
    $envelope = ConvertTo-Json -Compress -Depth 5 -InputObject @{ script = [System.IO.Path]::Combine($ScriptDir, 'inspect.ps1'); input = @{ terminalName = 'RDP-tcp'; eventDays = 30 } }
    $writer = [System.IO.StringWriter]::new()
    & ([System.IO.Path]::Combine($ScriptDir, 'bootstrap.ps1')) -Stdin ([System.IO.StringReader]::new($envelope)) -Stdout $writer
    $text = $writer.ToString()
    $text | Should -Match "`n--- rdpcert-json ---`n"
    $after = $text.Substring($text.LastIndexOf("--- rdpcert-json ---") + 20).Trim()
    ($after | ConvertFrom-Json).tsSetting.sslCertificateSha1Hash | Should -Be $WinModel.SelfSignedThumbprint
  }

  It 'silences the warning, verbose and information streams: Restart-Service''s "WARNING: Waiting for service" never reaches the answer' {
    $noisy = Join-Path $TestDrive 'noisy.ps1'
    # bootstrap.ps1 runs the prelude beside the script first.
    Copy-Item -LiteralPath ([System.IO.Path]::Combine($ScriptDir, 'prelude.ps1')) -Destination (Join-Path $TestDrive 'prelude.ps1')
    Set-Content -LiteralPath $noisy -Value @(
      'param([string]$InputJson)',
      'Restart-Service -Name TermService -Force',
      'Write-Verbose "verbose" -Verbose; Write-Information "information"; Write-Warning "warning"',
      'ConvertTo-Json -Compress -InputObject @{ ok = $true }'
    )
    # Run bare, the model's Restart-Service warns every 2 s of its stop, as the real one does.
    @(& $noisy -InputJson '{}' 3>&1 | Where-Object { $_ -is [System.Management.Automation.WarningRecord] -and "$_" -like 'Waiting for service*' }).Count | Should -BeGreaterThan 1
    New-WindowsModel
    $writer = [System.IO.StringWriter]::new()
    $envelope = ConvertTo-Json -Compress -InputObject @{ script = $noisy; input = @{} }
    $warnings = & ([System.IO.Path]::Combine($ScriptDir, 'bootstrap.ps1')) -Stdin ([System.IO.StringReader]::new($envelope)) -Stdout $writer 3>&1
    @($warnings).Count | Should -Be 0
    $writer.ToString() | Should -Not -Match 'Waiting for service'
    ($writer.ToString().Split("--- rdpcert-json ---")[-1] | ConvertFrom-Json).ok | Should -BeTrue
  }

  It 'refuses Constrained Language Mode with one line, before touching anything' {
    $pwsh = Join-Path $PSHOME 'pwsh'
    $bootstrap = Join-Path $ScriptDir 'bootstrap.ps1'
    $err = & $pwsh -NoProfile -NonInteractive -Command ('$ExecutionContext.SessionState.LanguageMode = ''ConstrainedLanguage''; & ''{0}''' -f $bootstrap) 2>&1 | Out-String
    $LASTEXITCODE | Should -Not -Be 0
    $err | Should -Match 'rdpcert: PowerShell runs in ConstrainedLanguage'
  }

  It 'runs only an absolute .ps1 path' {
    $writer = [System.IO.StringWriter]::new()
    { & ([System.IO.Path]::Combine($ScriptDir, 'bootstrap.ps1')) -Stdin ([System.IO.StringReader]::new('{"script":"inspect.ps1","input":{}}')) -Stdout $writer } | Should -Throw '*absolute*'
    { & ([System.IO.Path]::Combine($ScriptDir, 'bootstrap.ps1')) -Stdin ([System.IO.StringReader]::new('{"script":"/etc/passwd","input":{}}')) -Stdout $writer } | Should -Throw '*absolute*'
  }
}
}

Describe 'Windows PowerShell 5.1: native stderr under $ErrorActionPreference = ''Stop'' (windows-evidence/06)' {
  BeforeAll { $ScriptDir = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../../src/hosts/windows/scripts')) }
  # The model of 5.1's rule, which pwsh 7 cannot show [EV06 6.1-6.8]: with any 2> redirection, the
  # first line a native command writes to stderr is a terminating NativeCommandError under 'Stop',
  # so the exit-code check after it never runs. Rule for the scripts: every native call with a 2>
  # redirection sits in a function that sets $ErrorActionPreference to Continue before it.
  It 'every native call with a 2> redirection runs with ErrorActionPreference Continue in its scope' {
    $checked = 0
    foreach ($file in Get-ChildItem -LiteralPath $ScriptDir -Filter '*.ps1') {
      $ast = [System.Management.Automation.Language.Parser]::ParseFile($file.FullName, [ref]$null, [ref]$null)
      $calls = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] -and $n.InvocationOperator -eq 'Ampersand' -and @($n.Redirections | Where-Object { $_.FromStream -eq 'Error' }).Count -gt 0 }, $true)
      foreach ($call in $calls) {
        $checked++
        $scope = $call.Parent
        while ($null -ne $scope -and $scope -isnot [System.Management.Automation.Language.FunctionDefinitionAst]) { $scope = $scope.Parent }
        $scope | Should -Not -BeNullOrEmpty -Because "$($file.Name): $($call.Extent.Text) must run inside a function"
        $before = $scope.Body.Extent.Text.Substring(0, $call.Extent.StartOffset - $scope.Body.Extent.StartOffset)
        $before | Should -Match '\$ErrorActionPreference = ''(Silently)?Continue''' -Because "$($file.Name): $($call.Extent.Text)"
      }
    }
    $checked | Should -BeGreaterOrEqual 1
  }

  It 'the icacls grant reports icacls'' exit code and message when icacls writes to stderr and fails' {
    $ast = [System.Management.Automation.Language.Parser]::ParseFile((Join-Path $ScriptDir 'prelude.ps1'), [ref]$null, [ref]$null)
    $text = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] -and $n.Name -eq 'Grant-NetworkServiceRead' }, $true)[0].Extent.Text
    $root = Join-Path ([System.IO.Path]::GetTempPath()) ('rdpcert-icacls-' + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path (Join-Path $root 'System32') | Out-Null
    $fake = Join-Path $root 'System32/icacls.exe'
    Set-Content -LiteralPath $fake -Value "#!/bin/sh`necho 'file.key: Access is denied.' 1>&2`necho 'Successfully processed 0 files; Failed processing 1 files'`nexit 5"
    chmod +x $fake
    $saved = $env:SystemRoot
    try {
      $env:SystemRoot = $root
      & {
        $ErrorActionPreference = 'Stop'
        # Under another name: the model's alias for Grant-NetworkServiceRead would win over the function.
        . ([scriptblock]::Create($text.Replace("'System32\icacls.exe'", "'System32/icacls.exe'").Replace('function Grant-NetworkServiceRead', 'function Invoke-ShippedIcaclsGrant')))
        { Invoke-ShippedIcaclsGrant 'C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\file.key' } | Should -Throw 'icacls failed (5): *Access is denied.*'
      }
    } finally {
      $env:SystemRoot = $saved
      Remove-Item -LiteralPath $root -Recurse -Force
    }
  }
}
