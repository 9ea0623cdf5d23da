# A model of the Windows host that rdpcert's PowerShell scripts act on, for
# PowerShell 7 on Linux (tests only; this file may use PowerShell 7 syntax).
#
# Dot-source it, then New-WindowsModel (or Import-WindowsModel from a state file
# written by Export-WindowsModel: the Node end-to-end tests run every script in
# its own pwsh process against one state file). The Windows-only cmdlets the
# scripts call are replaced by functions with the real cmdlets' parameters
# (PowerShell resolves functions before cmdlets); the few Windows-only .NET calls,
# which each script keeps in one small function, are replaced by aliases
# (resolved before functions, which is also how Pester's Mock works).
#
# Every rule carries its source (issue 20): a capture from a real host in the project's
# evidence folder (windows-evidence/NN section: /work/shared/windows-evidence/, listed in
# README "Windows: what is not verified on a real host"), or a Microsoft document:
#   [EV01 1.1] windows-evidence/01-machinekeys-acl.md section 1.1, and so on for 02..06
#   [GUESS]  no published capture or document: a modelling choice, listed in the README's
#            "not verified on a real host"
# and DOMAIN.md (/work/shared/DOMAIN.md) with the Microsoft documents it cites:
#   [TSGS]   Win32_TSGeneralSetting class reference (learn.microsoft.com)
#   [KB3042780] "Remote Desktop listener certificate configurations"
#   [KB2001849] RDP listener certificate / MachineKeys permissions
#   [AZ]     Azure "Troubleshoot RDP connection issues by Event ID"
#   [SVC]    PowerShell's Service.cs (Stop-/Restart-Service) and ServiceController docs
#   [FW]     Windows Firewall: the Remote Desktop group's resource id
#   [CERT]   the Cert: provider (Remove-Item -DeleteKey), X509Certificate2
#   [PKI]    the PKI module: Import-PfxCertificate, Import-Certificate (learn.microsoft.com)
#   [PEERS]  win-acme dist/Scripts/ImportRDListener.ps1, Posh-ACME.Deploy Set-RDSHCertificate
#   [NIP]    New-ItemProperty reference (learn.microsoft.com): -PropertyType Binary is REG_BINARY
#            (a byte[] value); an existing value is replaced only with -Force, else "The property
#            already exists"; the key must exist ("Cannot find path")
#   [NI5444] PowerShell issue #5444 (github.com/PowerShell/PowerShell): the registry provider's
#            New-Item -Force on an existing key recreates it, losing its values; New-Item -Force
#            creates missing parent keys (New-Item reference: -Force)
# No Set-StrictMode here: it would leak into the scripts, which Windows runs without it.



function New-ModelCertificate {
  # Real DER from .NET, so thumbprints and bytes are what Windows would show.
  param(
    [string]$Store = 'Remote Desktop',
    [string]$Subject = 'CN=host01.example.test',
    [int]$DaysValid = 180,
    [int]$DaysAgo = 1,
    [string]$Issuer = $null,
    [bool]$HasPrivateKey = $true,
    [bool]$Exportable = $false,
    [ValidateSet('CAPI', 'CNG')][string]$KeyProvider = 'CAPI',
    # Windows' own self-signed key grants NETWORK SERVICE Read; an imported one does not (DOMAIN.md).
    [string[]]$KeyAcl = $null,
    [string]$KeyFileName = $null,
    # A key file that exists but will not open (damaged): [EV02 2.10] measured, [EV02 2.7b] reported.
    [bool]$KeyBroken = $false
  )
  $rsa = [System.Security.Cryptography.RSA]::Create(2048)
  $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Subject, $rsa, [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
  $eku = [System.Security.Cryptography.OidCollection]::new()
  [void]$eku.Add([System.Security.Cryptography.Oid]::new('1.3.6.1.5.5.7.3.1'))
  $request.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]::new($eku, $false))
  $notBefore = [DateTimeOffset]::UtcNow.AddDays(-$DaysAgo)
  $notAfter = $notBefore.AddDays($DaysValid)
  if ($Issuer) {
    # A CA-issued certificate: signed by a throwaway CA.
    $caKey = [System.Security.Cryptography.RSA]::Create(2048)
    $caRequest = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new($Issuer, $caKey, [System.Security.Cryptography.HashAlgorithmName]::SHA256, [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
    $caRequest.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension]::new($true, $false, 0, $true))
    $ca = $caRequest.CreateSelfSigned($notBefore.AddDays(-1), $notAfter.AddDays(1))
    $serial = [byte[]](1..16 | ForEach-Object { Get-Random -Maximum 256 })
    $cert = $request.Create($ca, $notBefore, $notAfter, $serial)
  } else {
    $cert = $request.CreateSelfSigned($notBefore, $notAfter)
  }
  if ($null -eq $KeyAcl) { $KeyAcl = if ($Store -eq 'Remote Desktop') { Get-ModelOwnKeyAcl } else { @('S-1-5-18:F', 'S-1-5-32-544:F') } }
  if (-not $KeyFileName) { $KeyFileName = if ($Store -eq 'Remote Desktop') { Get-ModelOwnKeyFileName } else { ([guid]::NewGuid().ToString('N')) + '_machineguid' } }
  [ordered]@{
    Store = $Store
    Thumbprint = $cert.Thumbprint
    RawData = [Convert]::ToBase64String($cert.RawData)
    Subject = $cert.Subject
    NotAfter = $cert.NotAfter.ToUniversalTime().ToString('o')
    HasPrivateKey = $HasPrivateKey
    Exportable = $Exportable
    KeyProvider = $KeyProvider
    KeyFileName = $KeyFileName
    KeyAcl = @($KeyAcl)
    KeyBroken = $KeyBroken
  }
}

function Get-ModelOwnKeyAcl {
  # [EV01 1.1] measured on six builds: Windows' own RDP key file grants SYSTEM FullControl
  # (0x1F01FF) and NETWORK SERVICE Read (0x120089), plus Administrators Read up to 14393, or
  # NT SERVICE\SessionEnv FullControl from 17763 on, with no Administrators entry.
  $build = 20348
  if ($global:WinModel -and $global:WinModel.Build) { $build = [int]$global:WinModel.Build }
  if ($build -ge 17763) { return @('S-1-5-18:F', 'S-1-5-20:R', ($global:ModelSessionEnvSid + ':F')) }
  return @('S-1-5-18:F', 'S-1-5-20:R', 'S-1-5-32-544:R')
}

function Get-ModelOwnKeyFileName {
  # [EV01 1.1, 1.9] the CAPI container TSSecKeySet1: file f686aace6942fb7f7ceb231212eef4a4_<MachineGuid> in MachineKeys.
  $guid = 'c5d2b969-b61a-4159-8f78-6391a1c805db'
  if ($global:WinModel -and $global:WinModel.MachineGuid) { $guid = $global:WinModel.MachineGuid }
  'f686aace6942fb7f7ceb231212eef4a4_' + $guid
}

# [EV01 1.1] NT SERVICE\SessionEnv's service SID.
$global:ModelSessionEnvSid = 'S-1-5-80-4022436659-1090538466-1613889075-870485073-3428993833'

function New-WindowsModel {
  # A healthy Windows Server with Remote Desktop enabled and Windows' own
  # self-signed certificate in use (the default case [KB3042780]).
  param([string]$ComputerName = 'host01.example.test', [int]$Build = 20348)
  $global:WinModel = [ordered]@{ Build = $Build; MachineGuid = 'c5d2b969-b61a-4159-8f78-6391a1c805db' }
  $selfSigned = New-ModelCertificate -Subject "CN=$ComputerName"
  $global:WinModel = [ordered]@{
    ComputerName = $ComputerName
    # [EV01 1.1] builds 9600 (2012 R2), 14393 (2016), 17763 (2019), 20348 (2022), 26100 (2025).
    Build = $Build
    # [EV01 1.9] a real MachineGuid (HKLM\SOFTWARE\Microsoft\Cryptography), which names the RDP key file.
    MachineGuid = 'c5d2b969-b61a-4159-8f78-6391a1c805db'
    # Who runs the scripts: an elevated administrator, not SYSTEM ([EV01 1.7, 1.8]: such an
    # account cannot open Windows' own RDP key from 17763 on). 'S-1-5-18' for a SYSTEM task.
    CallerSids = @('S-1-5-21-1004336348-1177238915-682003330-500', 'S-1-5-32-544', 'S-1-1-0', 'S-1-5-11', 'S-1-5-32-545')
    # What a client sees against a key that will not open: [EV02 2.10] "disconnected the moment the
    # TLS handshake starts" ('tls-failed'); no wire capture exists ([EV02] Not found), so 'reset'
    # (the connection reset during the X.224 exchange) is modelled too [GUESS].
    BrokenKeyWire = 'tls-failed'
    Certificates = [System.Collections.Generic.List[object]]::new()
    Listeners = [ordered]@{
      # [TSGS] one Win32_TSGeneralSetting per listener; the registry mirror is
      # HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\<name> (DOMAIN.md).
      'RDP-Tcp' = [ordered]@{
        PortNumber = 3389
        SecurityLayer = 2
        UserAuthentication = 1
        # [KB3042780]/DOMAIN.md: 1 = the default self-signed certificate, and then the
        # registry value SSLCertificateSHA1Hash is usually absent; 3 = custom (value set);
        # 2 = Group Policy template (AD CS auto-enrollment); 0 = not valid.
        HashType = 1
        RegistryHash = $null
        TemplateHash = $null
      }
    }
    # The certificate Windows issued for itself (in Remote Desktop); WMI reports it for HashType 1.
    SelfSignedThumbprint = $selfSigned.Thumbprint
    # [EV03 3.1, 3.2] Microsoft's procedure restarts SessionEnv and "the certificate reappears"; which
    # service does it on each build is not separated by a capture [EV03 Not found]: scenarios vary it.
    IssuesOnRestartOf = 'SessionEnv'
    # [EV05 5.7] start types measured on six builds (all Manual here); [EV05 5.1] UmRdpService is
    # TermService's only dependent on a plain host (RDS-role hosts: no capture).
    Services = [ordered]@{
      SessionEnv = [ordered]@{ DisplayName = 'Remote Desktop Configuration'; Status = 'Running'; StartType = 'Manual'; DependsOn = @(); StopSeconds = 2; Hangs = $false; StartFails = $null }
      TermService = [ordered]@{ DisplayName = 'Remote Desktop Services'; Status = 'Running'; StartType = 'Manual'; DependsOn = @(); StopSeconds = 6; Hangs = $false; StartFails = $null }
      # DOMAIN.md: UmRdpService depends on TermService.
      UmRdpService = [ordered]@{ DisplayName = 'Remote Desktop Services UserMode Port Redirector'; Status = 'Running'; StartType = 'Manual'; DependsOn = @('TermService'); StopSeconds = 0; Hangs = $false; StartFails = $null }
    }
    # [EV01 1.1] measured on six builds, [EV01 1.2, 1.3, 1.5] agree: MachineKeys is
    # O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA): Everyone (R,W) + Administrators Full Control, no SYSTEM.
    # Crypto\Keys: no capture found ([EV01] Not found): the same is a [GUESS].
    KeyFolderAcl = [ordered]@{
      MachineKeys = @('S-1-1-0:0x12019f', 'S-1-5-32-544:F')
      Keys = @('S-1-1-0:0x12019f', 'S-1-5-32-544:F')
    }
    # Schannel 36870 logged once per unusable key (FallbackLogged's twin for Windows' own key).
    BrokenKeyLogged = @()
    # Key files in MachineKeys whose certificate was removed without -DeleteKey.
    OrphanKeyFiles = @()
    Events = [System.Collections.Generic.List[object]]::new()
    # Certificates removed from a store, so that a PFX made from one can be imported again.
    Removed = [System.Collections.Generic.List[object]]::new()
    # [FW] the Remote Desktop group: resource id @FirewallAPI.dll,-28752, display name localized.
    Firewall = [System.Collections.Generic.List[object]]::new()
    RegistryHkcu = [ordered]@{}
    # [NIP] the type each HKCU value was written as ('KEY\Name' -> Binary, String, ...).
    RegistryHkcuTypes = [ordered]@{}
    ScheduledTasks = [ordered]@{}
    # DOMAIN.md: Windows Server 2012 R2 may lack .NET 4.6 (RSACertificateExtensions).
    HasRsaCertificateExtensions = $true
    # Which key storage an imported PFX's RSA key lands in: a PFX without a CSP attribute (as
    # rdpcert builds it) goes to a CAPI provider on the Windows versions we know of, a KSP-tagged
    # one to CNG; which one each Windows picks is *unconfirmed*, so deploy.ps1 handles both and
    # the tests run both. EC keys are always CNG (CAPI has no EC provider).
    PfxKeyProvider = 'CAPI'
    # The configured hashes a fallback event was logged for (one event per binding, not per connection).
    FallbackLogged = @()
    # What the model saw the scripts do that real Windows would punish (an unbounded wait, ...).
    Violations = [System.Collections.Generic.List[string]]::new()
    Clock = (Get-Date).ToUniversalTime().ToString('o')
  }
  $global:WinModel.Certificates.Add($selfSigned)
  foreach ($rule in @(
      @{ Name = 'RemoteDesktop-UserMode-In-TCP'; DisplayName = 'Remote Desktop - User Mode (TCP-In)'; LocalPort = '3389'; Protocol = 'TCP' },
      @{ Name = 'RemoteDesktop-UserMode-In-UDP'; DisplayName = 'Remote Desktop - User Mode (UDP-In)'; LocalPort = '3389'; Protocol = 'UDP' })) {
    $global:WinModel.Firewall.Add([ordered]@{ Name = $rule.Name; DisplayName = $rule.DisplayName; Group = '@FirewallAPI.dll,-28752'; DisplayGroup = 'Remote Desktop'; Direction = 'Inbound'; Action = 'Allow'; Enabled = 'True'; LocalPort = $rule.LocalPort; Protocol = $rule.Protocol })
  }
}

function Export-WindowsModel([string]$Path) {
  $global:WinModel.Presented = Get-ModelPresented
  $global:WinModel | ConvertTo-Json -Depth 12 | Set-Content -LiteralPath $Path -Encoding utf8NoBOM
}

function Import-WindowsModel([string]$Path) {
  $state = Get-Content -LiteralPath $Path -Raw -Encoding utf8 | ConvertFrom-Json -AsHashtable
  foreach ($list in 'Certificates', 'Events', 'Firewall', 'Violations', 'Removed') {
    $items = [System.Collections.Generic.List[object]]::new()
    foreach ($item in @($state[$list])) { if ($null -ne $item) { $items.Add($item) } }
    $state[$list] = $items
  }
  $global:WinModel = $state
}

# ---- model rules -----------------------------------------------------------

function Get-ModelCertificate([string]$Store, [string]$Thumbprint) {
  $global:WinModel.Certificates | Where-Object { $_.Store -eq $Store -and $_.Thumbprint -eq $Thumbprint.ToUpperInvariant() } | Select-Object -First 1
}

function Add-ModelEvent {
  param([string]$Provider, [int]$Id, [string]$Message, [string[]]$Data = @(), [string]$LogName = 'System', [int]$Level = 2)
  $global:WinModel.Events.Add([ordered]@{ LogName = $LogName; ProviderName = $Provider; Id = $Id; Level = $Level; TimeCreated = (Get-Date).ToUniversalTime().ToString('o'); Message = $Message; Data = @($Data) })
}

function Get-ModelMask([string]$What) {
  # ACL entries are 'SID:F' (FullControl 0x1F01FF), 'SID:R' (Read, Synchronize 0x120089, as
  # [EV01 1.1] measured) or 'SID:0x...' (any mask, generic bits included).
  switch ($What) { 'F' { return [long]0x1F01FF } 'R' { return [long]0x120089 } default { return [long][Convert]::ToUInt32($What.Substring(2), 16) } }
}

function Test-ModelAcl([string[]]$Acl, [string[]]$Sids, [string]$Right) {
  # Windows' access check: the allow entries for any SID in the token add up; ReadData (1) or
  # GENERIC_READ/GENERIC_ALL grant read, WriteData (2) or GENERIC_WRITE/GENERIC_ALL grant creating a file.
  $mask = [long]0
  foreach ($entry in $Acl) {
    $who, $what = $entry -split ':', 2
    if ($Sids -contains $who) { $mask = $mask -bor (Get-ModelMask $what) }
  }
  switch ($Right) {
    'F' { return (($mask -band 0x1F01FF) -eq 0x1F01FF) -or (($mask -band 0x10000000) -ne 0) }
    'R' { return (($mask -band 1) -ne 0) -or (($mask -band ([long]2147483648 + 0x10000000)) -ne 0) }
    'W' { return (($mask -band 2) -ne 0) -or (($mask -band (0x40000000 + 0x10000000)) -ne 0) }
  }
  return $false
}

# Token groups: every account has Everyone and (not anonymous) Authenticated Users and Users.
$global:ModelNetworkServiceSids = @('S-1-5-20', 'S-1-1-0', 'S-1-5-11', 'S-1-5-32-545')
# SYSTEM's token holds BUILTIN\Administrators too.
$global:ModelSystemSids = @('S-1-5-18', 'S-1-5-32-544', 'S-1-1-0', 'S-1-5-11')

function Test-ModelKeyFoldersHealthy {
  # Whether SessionEnv (LocalSystem) can create the new key container: [EV01 1.1] measured that
  # Windows issues through the default folder (no SYSTEM entry) and through one hardened to
  # SYSTEM + Administrators; [EV02 2.3, 2.9] a folder it cannot write gives 1057/1058 "Access is
  # denied". So: write for any SID of SYSTEM's token. (Which exact right it needs is a [GUESS].)
  foreach ($folder in 'MachineKeys', 'Keys') {
    if (-not (Test-ModelAcl $global:WinModel.KeyFolderAcl[$folder] $global:ModelSystemSids 'W')) { return $false }
  }
  return $true
}

function Test-ModelUsableByNetworkService($cert) {
  # DOMAIN.md, [EV02 2.10]: TermService runs as NETWORK SERVICE (S-1-5-20); a key it cannot read,
  # or one that will not open, is unusable (Schannel 36870).
  [bool]$cert.HasPrivateKey -and -not $cert.KeyBroken -and (Test-ModelAcl $cert.KeyAcl $global:ModelNetworkServiceSids 'R')
}

function Test-ModelCallerOpens($cert) {
  # Whether the account running the script opens the key: [EV01 1.7, 1.8] an elevated admin gets
  # "Keyset does not exist" (0x80090016) on the RDP key from 17763 on, SYSTEM opens it [EV01 1.9].
  $caller = @($global:WinModel.CallerSids)
  if ($caller -contains 'S-1-5-18') { $caller = $global:ModelSystemSids }
  if (-not (Test-ModelAcl $cert.KeyAcl $caller 'R')) { throw [System.Security.Cryptography.CryptographicException]::new('Keyset does not exist') }
  # [EV02 2.7b] the text Windows gave for a damaged key container; what .NET throws for one is a [GUESS].
  if ($cert.KeyBroken) { throw [System.Security.Cryptography.CryptographicException]::new('Key not valid for use in specified state.') }
}

function Get-ModelListenerHash([string]$Name) {
  # [TSGS]/[KB3042780]: WMI reports the hash in use: the registry value when set (type 3),
  # the template certificate (type 2), otherwise Windows' own self-signed one (type 1).
  $l = $global:WinModel.Listeners[$Name]
  if ($l.RegistryHash) { return $l.RegistryHash }
  if ($l.HashType -eq 2 -and $l.TemplateHash) { return $l.TemplateHash }
  return $global:WinModel.SelfSignedThumbprint
}

function Get-ModelPresented([string]$Name = 'RDP-Tcp') {
  # What a client sees on the listener's port. DOMAIN.md "What goes wrong": a configured
  # certificate that is missing or unusable makes Windows silently serve its self-signed
  # one (events 1051/1055/1059); SecurityLayer 0 never offers TLS; TermService down, nothing.
  if ($global:WinModel.Services.TermService.Status -ne 'Running') { return [ordered]@{ kind = 'down' } }
  $l = $global:WinModel.Listeners[$Name]
  if ($l.SecurityLayer -eq 0) { return [ordered]@{ kind = 'rdp-security-only' } }
  # [PEERS]/[TSGS]: the hash set through WMI (which writes this registry value) is what the listener uses
  # for the next connection, without a service restart: win-acme and Posh-ACME.Deploy set it and restart
  # nothing. *Unconfirmed* on every Windows version: rdpcert verifies by handshake and rolls back otherwise.
  $configured = $l.RegistryHash
  if ($configured) {
    foreach ($store in 'My', 'Remote Desktop') {
      $c = Get-ModelCertificate $store $configured
      if ($c -and (Test-ModelUsableByNetworkService $c)) { return [ordered]@{ kind = 'tls'; rawData = $c.RawData; thumbprint = $c.Thumbprint } }
      if ($c) { Add-ModelFallbackEvent $configured }
    }
  }
  $self = Get-ModelCertificate 'Remote Desktop' $global:WinModel.SelfSignedThumbprint
  if ($self -and (Test-ModelUsableByNetworkService $self)) { return [ordered]@{ kind = 'tls'; rawData = $self.RawData; thumbprint = $self.Thumbprint } }
  if ($self -and $self.HasPrivateKey) {
    # [EV02 2.10] a key behind a valid certificate that TermService cannot use: every client is
    # disconnected as the TLS handshake starts, and [EV02 2.3, 2.4, 2.9] Schannel logs 36870.
    Add-ModelBrokenKeyEvent $self.Thumbprint
    return [ordered]@{ kind = $global:WinModel.BrokenKeyWire }
  }
  # No usable certificate at all: the handshake fails (DOMAIN.md: TLS alert / closed after negotiation).
  return [ordered]@{ kind = 'tls-failed' }
}

function Add-ModelBrokenKeyEvent([string]$Thumbprint) {
  # [EV02 2.4, 2.9] the text, the same in every source; it names no key or thumbprint. Its data is
  # Type, ErrorCode, ErrorStatus (issue 20; [EV02 2.6] shows Schannel's EventData shape): the
  # exact values are a [GUESS], no 36870 XML was found ([EV02] Not found).
  if (@($global:WinModel.BrokenKeyLogged) -contains $Thumbprint) { return }
  $global:WinModel.BrokenKeyLogged = @($global:WinModel.BrokenKeyLogged) + $Thumbprint
  Add-ModelEvent 'Schannel' 36870 ("A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D. The internal error state is 10001.") @('server', '0x8009030d', '10001')
}

function Add-ModelFallbackEvent([string]$Hash) {
  # [KB3042780]/DOMAIN.md: a configured certificate whose key NETWORK SERVICE cannot read is
  # unusable: Schannel logs 36870 and the listener falls back to its self-signed certificate
  # (TerminalServices-RemoteConnectionManager 1051/1055/1059). Which of the three Windows logs
  # for which cause is not in our sources: the model logs 1059. A configured thumbprint naming
  # no installed certificate (the 'dangling' case) falls back without a modelled event.
  if (@($global:WinModel.FallbackLogged) -contains $Hash) { return }
  $global:WinModel.FallbackLogged = @($global:WinModel.FallbackLogged) + $Hash
  Add-ModelEvent 'Schannel' 36870 'A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D. The internal error state is 10001.' @('server', '0x8009030d', '10001')
  Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1059 ('The RD Session Host server could not use the configured certificate ' + $Hash + ' and uses a self-signed certificate instead. (model text)') @($Hash)
}

function Invoke-ModelServiceStarted([string]$Name) {
  # DOMAIN.md "Regeneration": restarting the service that issues the certificate makes Windows
  # create a new self-signed one when Remote Desktop holds no valid one (event 1056);
  # with broken key-folder ACLs it cannot (1057 when none existed, 1058 when the old one expired).
  # [EV03 3.1, 3.2] Microsoft's procedure: delete, restart SessionEnv, "the certificate reappears";
  # [EV03 3.3] measured "within seconds" of the restart, with a key container of correct
  # permissions. An expired one: [EV03 3.3] "Windows renews a certificate that has expired";
  # that a SessionEnv restart triggers it is not captured: modelled as renewed on that restart
  # (the issue's modelling choice), never timed. A valid certificate with a broken key: [EV03 3.3]
  # "nothing ever triggers regeneration", so nothing happens.
  if ($Name -ne $global:WinModel.IssuesOnRestartOf) { return }
  $current = Get-ModelCertificate 'Remote Desktop' $global:WinModel.SelfSignedThumbprint
  $valid = $current -and ([datetime]::Parse($current.NotAfter).ToUniversalTime() -gt (Get-Date).ToUniversalTime())
  if ($valid) { return }
  # [EV03 3.3] "ORPHANED": a certificate entry whose key file is gone blocks a new one; and a key
  # file TSSecKeySet1 left behind without its certificate is in the way of the new container
  # ([EV02 2.9] 1058 "object already exists"; [EV02 2.1, 2.7b] the fixes delete the f686aace file).
  if (($current -and -not $current.HasPrivateKey) -or (@($global:WinModel.OrphanKeyFiles) -contains (Get-ModelOwnKeyFileName))) {
    Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1058 'The RD Session Host Server has failed to create a new self-signed certificate to be used for RD Session Host Server authentication on TLS connections, the relevant status code was object already exists.'
    return
  }
  if (-not (Test-ModelKeyFoldersHealthy)) {
    if ($current) { Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1058 'The Terminal Server has failed to replace the expired self signed certificate used for Terminal Server authentication on SSL connections. The relevant status code was Access is denied.' }
    else { Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1057 'The Terminal Server has failed to create a new self signed certificate to be used for Terminal Server authentication on SSL connections. The relevant status code was Access is denied.' }
    return
  }
  $new = New-ModelCertificate -Subject ("CN=" + $global:WinModel.ComputerName)
  $global:WinModel.Certificates.Add($new)
  $global:WinModel.SelfSignedThumbprint = $new.Thumbprint
  Add-ModelEvent 'Microsoft-Windows-TerminalServices-RemoteConnectionManager' 1056 ('A new self signed certificate to be used for Terminal Server authentication on SSL connections has been generated. The name of the certificate is ' + $global:WinModel.ComputerName + '. The SHA1 hash of the certificate is in the event data.') @($new.Thumbprint)
}

# ---- certificate objects as the Cert: provider returns them [CERT] ----------

function ConvertTo-ModelCertObject($c) {
  $keyContainer = if ($c.KeyProvider -eq 'CAPI') { [pscustomobject]@{ UniqueKeyContainerName = $c.KeyFileName } } else { $null }
  $o = [pscustomobject]@{
    PSTypeName = 'RdpcertModel.Certificate'
    Thumbprint = $c.Thumbprint
    Subject = $c.Subject
    NotAfter = [datetime]::Parse($c.NotAfter)
    HasPrivateKey = [bool]$c.HasPrivateKey
    RawData = [Convert]::FromBase64String($c.RawData)
    PSPath = 'Microsoft.PowerShell.Security\Certificate::LocalMachine\' + $c.Store + '\' + $c.Thumbprint
    ModelKeyProvider = $c.KeyProvider
    ModelKeyFileName = $c.KeyFileName
    ModelStore = $c.Store
  }
  # .NET Framework: PrivateKey gives a CAPI key (RSACryptoServiceProvider with CspKeyContainerInfo)
  # and throws for a CNG key ("Invalid provider type specified").
  # Opening it is an access check for the caller and fails for a damaged key (Test-ModelCallerOpens).
  # Windows PowerShell surfaces a .NET getter's exception ('Exception getting "PrivateKey"'); a
  # ScriptProperty's is swallowed by PowerShell (the value is $null), so the scripts treat both alike.
  if ($c.HasPrivateKey -and $c.KeyProvider -eq 'CAPI') {
    $o | Add-Member -NotePropertyName ModelKeyContainer -NotePropertyValue $keyContainer
    $o | Add-Member -MemberType ScriptProperty -Name PrivateKey -Value { Test-ModelCallerOpens (Get-ModelCertificate $this.ModelStore $this.Thumbprint); [pscustomobject]@{ CspKeyContainerInfo = $this.ModelKeyContainer } }
  } else {
    $o | Add-Member -MemberType ScriptProperty -Name PrivateKey -Value { if ($this.HasPrivateKey) { throw [System.Security.Cryptography.CryptographicException]::new('Invalid provider type specified.') } else { $null } }
  }
  $thumb = $c.Thumbprint
  $store = $c.Store
  # X509Certificate2.Export(Pfx, password): a non-exportable key fails ("Key not valid for use in specified state.").
  $o | Add-Member -MemberType ScriptMethod -Name Export -Value ([scriptblock]::Create(@"
param(`$type, `$password)
`$m = Get-ModelCertificate '$store' '$thumb'
if (-not `$m.Exportable) { throw [System.Security.Cryptography.CryptographicException]::new('Key not valid for use in specified state.') }
return [System.Text.Encoding]::UTF8.GetBytes('MODEL-PFX:' + '$store' + ':' + '$thumb')
"@))
  $o
}

function Split-ModelCertPath([string]$Path) {
  if ($Path -match '^Cert:\\LocalMachine\\(?<store>[^\\]+)(\\(?<thumb>[0-9A-Fa-f]+))?\\?$') {
    return @{ Store = $Matches.store; Thumbprint = $Matches['thumb'] }
  }
  return $null
}

# ---- the registry, HKLM:\ and HKCU:\ ----------------------------------------

$global:ModelWinStations = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\'

function Get-ModelRegistryValues([string]$Path) {
  # [EV01 1.9] MachineGuid, which names the RDP key file (f686aace..._<MachineGuid>).
  if ($Path -eq 'HKLM:\SOFTWARE\Microsoft\Cryptography') { return [ordered]@{ MachineGuid = $global:WinModel.MachineGuid } }
  # The build (CurrentBuildNumber is a REG_SZ).
  if ($Path -eq 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion') { return [ordered]@{ CurrentBuildNumber = [string]$global:WinModel.Build } }
  if ($Path.StartsWith($global:ModelWinStations, [StringComparison]::OrdinalIgnoreCase)) {
    $name = $Path.Substring($global:ModelWinStations.Length).TrimEnd('\')
    $key = $global:WinModel.Listeners.Keys | Where-Object { $_ -eq $name } | Select-Object -First 1
    if (-not $key) { return $null }
    $l = $global:WinModel.Listeners[$key]
    $values = [ordered]@{ PortNumber = [int]$l.PortNumber; SecurityLayer = [int]$l.SecurityLayer; UserAuthentication = [int]$l.UserAuthentication }
    # DOMAIN.md: SSLCertificateSHA1Hash is binary, and absent for the default self-signed certificate.
    if ($l.RegistryHash) { $values.SSLCertificateSHA1Hash = [byte[]]([Convert]::FromHexString($l.RegistryHash)) }
    return $values
  }
  if ($Path -like 'HKCU:\*') {
    $k = $global:WinModel.RegistryHkcu.Keys | Where-Object { $_ -eq $Path } | Select-Object -First 1
    if ($k) { return $global:WinModel.RegistryHkcu[$k] }
    return $null
  }
  return $null
}

function Test-ModelRegistryPath([string]$Path) { $null -ne (Get-ModelRegistryValues $Path) -or $Path.TrimEnd('\') -eq $global:ModelWinStations.TrimEnd('\') }

function Get-ItemProperty {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]]$Path, [string[]]$LiteralPath, [Parameter(Position = 1)][string[]]$Name)
  $p = @($Path + $LiteralPath | Where-Object { $_ })[0]
  if ($p -notmatch '^HK(LM|CU):') { return Microsoft.PowerShell.Management\Get-ItemProperty @PSBoundParameters }
  $values = Get-ModelRegistryValues $p
  if ($null -eq $values) { $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$p' because it does not exist."), 'PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand', 'ObjectNotFound', $p)); return }
  if ($Name) {
    foreach ($n in $Name) {
      if (-not $values.Contains($n)) { $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Management.Automation.PSArgumentException]::new("Property $n does not exist at path $p."), 'System.Management.Automation.PSArgumentException,Microsoft.PowerShell.Commands.GetItemPropertyCommand', 'InvalidArgument', $n)); return }
    }
    $selected = [ordered]@{}
    foreach ($n in $Name) { $selected[$n] = $values[$n] }
    return [pscustomobject]$selected
  }
  return [pscustomobject]$values
}

function Set-ItemProperty {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string]$Path, [string]$LiteralPath, [Parameter(Position = 1)][string]$Name, [Parameter(Position = 2)]$Value, [string]$Type)
  $p = if ($Path) { $Path } else { $LiteralPath }
  if ($p -notmatch '^HK(LM|CU):') { return Microsoft.PowerShell.Management\Set-ItemProperty @PSBoundParameters }
  Set-ModelRegistryValue $p $Name $Value
}

function New-ItemProperty {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string]$Path, [string]$LiteralPath, [Parameter(Position = 1)][string]$Name, $Value, [string]$PropertyType, [switch]$Force)
  $p = if ($Path) { $Path } else { $LiteralPath }
  if ($p -notmatch '^HK(LM|CU):') { return Microsoft.PowerShell.Management\New-ItemProperty @PSBoundParameters }
  if ($p -like 'HKCU:\*') { return Set-ModelHkcuValue $p $Name $Value $PropertyType ([bool]$Force) $true }
  Set-ModelRegistryValue $p $Name $Value
}

function New-Item {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]]$Path, [string]$Name, [string]$ItemType, $Value, [switch]$Force)
  $p = @($Path | Where-Object { $_ })[0]
  if ($p -notlike 'HKCU:\*') { return Microsoft.PowerShell.Management\New-Item @PSBoundParameters }
  if ($Name) { $p = $p.TrimEnd('\') + '\' + $Name }
  $k = $global:WinModel.RegistryHkcu.Keys | Where-Object { $_ -eq $p } | Select-Object -First 1
  if ($k -and -not $Force) { throw [System.IO.IOException]::new("A key at this path already exists.") }
  # [NI5444] without -Force the parent key must exist (the model keeps keys flat: a parent exists when a key of that path does).
  $parent = $p.Substring(0, $p.LastIndexOf('\'))
  if (-not $Force -and -not ($global:WinModel.RegistryHkcu.Keys | Where-Object { $_ -eq $parent })) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$parent' because it does not exist.") }
  # [NI5444] -Force on an existing key recreates it empty: its values are lost.
  if ($k) { $global:WinModel.RegistryHkcu.Remove($k) }
  $global:WinModel.RegistryHkcu[$p] = [ordered]@{}
  return [pscustomobject]@{ PSPath = $p; Name = ($p -split '\\')[-1] }
}

function Set-ModelHkcuValue([string]$Path, [string]$Name, $Value, [string]$PropertyType, [bool]$Force, [bool]$New) {
  $k = $global:WinModel.RegistryHkcu.Keys | Where-Object { $_ -eq $Path } | Select-Object -First 1
  # [NIP] the key must exist.
  if (-not $k) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$Path' because it does not exist.") }
  $values = $global:WinModel.RegistryHkcu[$k]
  # [NIP] New-ItemProperty replaces an existing value only with -Force.
  if ($New -and $values.Contains($Name) -and -not $Force) { throw [System.IO.IOException]::new('The property already exists.') }
  # [NIP] -PropertyType Binary is REG_BINARY: a byte array; anything else is recorded as a violation of what mstsc reads.
  if ($PropertyType -eq 'Binary' -and $Value -isnot [byte[]]) { $global:WinModel.Violations.Add("$Name written as $($Value.GetType().Name), not byte[]") }
  $values[$Name] = $Value
  $global:WinModel.RegistryHkcuTypes["$k\$Name"] = if ($PropertyType) { $PropertyType } else { 'String' }
}

function Set-ModelRegistryValue([string]$Path, [string]$Name, $Value) {
  if ($Path -like 'HKCU:\*') { return Set-ModelHkcuValue $Path $Name $Value '' $true $false }
  if (-not $Path.StartsWith($global:ModelWinStations, [StringComparison]::OrdinalIgnoreCase)) { throw "model: no registry key $Path" }
  $l = $global:WinModel.Listeners[$Path.Substring($global:ModelWinStations.Length).TrimEnd('\')]
  if ($null -eq $l) { throw "Cannot find path '$Path' because it does not exist." }
  switch ($Name) {
    'SSLCertificateSHA1Hash' {
      # [KB3042780]: writing the value makes it a custom binding (type 3).
      if ($Value -isnot [byte[]]) { $global:WinModel.Violations.Add("SSLCertificateSHA1Hash written as $($Value.GetType().Name), not binary"); $Value = [byte[]]([Convert]::FromHexString([string]$Value)) }
      $l.RegistryHash = [Convert]::ToHexString([byte[]]$Value); $l.HashType = 3
    }
    'PortNumber' { $l.PortNumber = [int]$Value }
    'SecurityLayer' { $l.SecurityLayer = [int]$Value }
    default { throw "model: value $Name is not modelled" }
  }
}

function Remove-ItemProperty {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string]$Path, [string]$LiteralPath, [Parameter(Position = 1)][string]$Name)
  $p = if ($Path) { $Path } else { $LiteralPath }
  if ($p -notmatch '^HK(LM|CU):') { return Microsoft.PowerShell.Management\Remove-ItemProperty @PSBoundParameters }
  $l = $global:WinModel.Listeners[$p.Substring($global:ModelWinStations.Length).TrimEnd('\')]
  if ($Name -ne 'SSLCertificateSHA1Hash' -or $null -eq $l -or -not $l.RegistryHash) { throw "Property $Name does not exist at path $p." }
  # [KB3042780]/DOMAIN.md: removing the value restores the default self-signed binding (type 1).
  $l.RegistryHash = $null; $l.HashType = 1
}

# ---- the providers' item cmdlets: Cert:\ and HKLM:\ go to the model ----------

function Test-Path {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]]$Path, [string[]]$LiteralPath, [Microsoft.PowerShell.Commands.TestPathType]$PathType = 'Any')
  $p = @($Path + $LiteralPath | Where-Object { $_ })[0]
  if ($p -like 'Cert:\*') {
    $parts = Split-ModelCertPath $p
    if (-not $parts) { return $false }
    if (-not $parts.Thumbprint) { return $true }
    return $null -ne (Get-ModelCertificate $parts.Store $parts.Thumbprint)
  }
  if ($p -match '^HK(LM|CU):') { return (Test-ModelRegistryPath $p) }
  if ($p -like ($env:ProgramData + '\Microsoft\Crypto\*')) { return $null -ne (Get-ModelKeyAcl $p) }
  Microsoft.PowerShell.Management\Test-Path @PSBoundParameters
}

function Get-Item {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]]$Path, [string[]]$LiteralPath, [switch]$Force)
  $p = @($Path + $LiteralPath | Where-Object { $_ })[0]
  if ($p -like 'Cert:\*') {
    $parts = Split-ModelCertPath $p
    $c = if ($parts -and $parts.Thumbprint) { Get-ModelCertificate $parts.Store $parts.Thumbprint } else { $null }
    if (-not $c) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$p' because it does not exist.") }
    return ConvertTo-ModelCertObject $c
  }
  Microsoft.PowerShell.Management\Get-Item @PSBoundParameters
}

function Get-ChildItem {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]]$Path, [string[]]$LiteralPath, [switch]$File, [switch]$Recurse, [switch]$Force, [string]$Filter)
  $p = @($Path + $LiteralPath | Where-Object { $_ })[0]
  if ($p -like 'Cert:\*') {
    $parts = Split-ModelCertPath $p
    return @($global:WinModel.Certificates | Where-Object { $_.Store -eq $parts.Store } | ForEach-Object { ConvertTo-ModelCertObject $_ })
  }
  if ($p -and $p.TrimEnd('\') -eq $global:ModelWinStations.TrimEnd('\')) {
    # WinStations holds one key per listener (and 'Console', which has no PortNumber).
    return @(@($global:WinModel.Listeners.Keys) + 'Console' | ForEach-Object { [pscustomobject]@{ PSChildName = $_; Name = 'HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\' + $_ } })
  }
  Microsoft.PowerShell.Management\Get-ChildItem @PSBoundParameters
}

function Remove-Item {
  [CmdletBinding()]
  param([Parameter(Position = 0, ValueFromPipelineByPropertyName)][Alias('PSPath')][string[]]$Path, [string[]]$LiteralPath, [switch]$Force, [switch]$Recurse, [switch]$DeleteKey)
  process {
    $p = @($Path + $LiteralPath | Where-Object { $_ })[0]
    if ($p -like 'Cert:\*') {
      $parts = Split-ModelCertPath $p
      $c = if ($parts -and $parts.Thumbprint) { Get-ModelCertificate $parts.Store $parts.Thumbprint } else { $null }
      if (-not $c) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$p' because it does not exist.") }
      # [CERT] -DeleteKey removes the key file as well; it opens the key first, so a key the caller
      # cannot open (Test-ModelCallerOpens) fails it [GUESS: no capture of -DeleteKey on such a key].
      # Without it the key file stays in MachineKeys (OrphanKeyFiles).
      if ($DeleteKey -and $c.HasPrivateKey) { Test-ModelCallerOpens $c }
      if (-not $DeleteKey -and $c.HasPrivateKey) { $global:WinModel.OrphanKeyFiles = @($global:WinModel.OrphanKeyFiles) + $c.KeyFileName }
      [void]$global:WinModel.Certificates.Remove($c)
      $global:WinModel.Removed.Add($c)
      return
    }
    $machineKeys = Join-Path $env:ProgramData 'Microsoft\Crypto\RSA\MachineKeys'
    if ($p.StartsWith($machineKeys + '\')) {
      # A key file: Administrators may delete it through the folder's Full Control (FILE_DELETE_CHILD) [EV01 1.5 KB 278381].
      $name = $p.Substring($machineKeys.Length + 1)
      if (@($global:WinModel.OrphanKeyFiles) -notcontains $name) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$p' because it does not exist.") }
      $global:WinModel.OrphanKeyFiles = @($global:WinModel.OrphanKeyFiles | Where-Object { $_ -ne $name })
      return
    }
    if ($p -like 'HKCU:\*') {
      $k = $global:WinModel.RegistryHkcu.Keys | Where-Object { $_ -eq $p } | Select-Object -First 1
      if (-not $k) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$p' because it does not exist.") }
      $global:WinModel.RegistryHkcu.Remove($k)
      return
    }
    $bound = @{} + $PSBoundParameters
    if ($bound.ContainsKey('DeleteKey')) { $bound.Remove('DeleteKey') }
    Microsoft.PowerShell.Management\Remove-Item @bound
  }
}

function Import-PfxCertificate {
  [CmdletBinding()]
  param([Parameter(Mandatory)][string]$FilePath, [Parameter(Mandatory)][string]$CertStoreLocation, [securestring]$Password, [switch]$Exportable)
  $bytes = [System.IO.File]::ReadAllBytes($FilePath)
  $text = [System.Text.Encoding]::UTF8.GetString($bytes)
  if ($text -notmatch '^MODEL-PFX:(?<store>[^:]+):(?<thumb>[0-9A-F]{40})$') { return Import-ModelRealPfx $bytes $CertStoreLocation $Password ([bool]$Exportable) }
  $store = ($CertStoreLocation -replace '^Cert:\\LocalMachine\\', '')
  $known = $global:WinModel.Certificates | Where-Object { $_.Thumbprint -eq $Matches.thumb } | Select-Object -First 1
  $orig = $global:WinModel.Removed | Where-Object { $_.Thumbprint -eq $Matches.thumb } | Select-Object -First 1
  $source = if ($known) { $known } else { $orig }
  if (-not $source) { throw 'model: the PFX names a certificate the model never had' }
  $copy = [ordered]@{} + $source
  $copy.Store = $store
  # An imported key gets a new key file whose ACL grants SYSTEM and Administrators only:
  # NETWORK SERVICE must be granted Read on it (DOMAIN.md; Posh-ACME.Deploy #12).
  $copy.KeyFileName = ([guid]::NewGuid().ToString('N')) + '_machineguid'
  $copy.KeyAcl = @('S-1-5-18:F', 'S-1-5-32-544:F')
  $copy.Exportable = [bool]$Exportable
  $global:WinModel.Certificates.Add($copy)
  ConvertTo-ModelCertObject $copy
}

function Import-ModelRealPfx([byte[]]$Bytes, [string]$CertStoreLocation, [securestring]$Password, [bool]$Exportable) {
  # A real PKCS#12 (rdpcert deploy builds one with node-forge: 3DES, SHA-1 MAC), opened with its
  # password as Windows would: a wrong password fails ("The specified network password is not
  # correct."). [PKI] Import-PfxCertificate puts every certificate of the PFX into the named
  # store and returns them; the key gets a new key file whose ACL grants SYSTEM and
  # Administrators only (DOMAIN.md; Posh-ACME.Deploy #12), so NETWORK SERVICE must be granted Read.
  $plain = [System.Net.NetworkCredential]::new('', $Password).Password
  $collection = [System.Security.Cryptography.X509Certificates.X509Certificate2Collection]::new()
  try {
    $collection.Import($Bytes, $plain, [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]::EphemeralKeySet)
  } catch {
    throw [System.Security.Cryptography.CryptographicException]::new('The specified network password is not correct.')
  }
  $store = ($CertStoreLocation -replace '^Cert:\\LocalMachine\\', '')
  foreach ($x in $collection) {
    $ec = $x.PublicKey.Oid.Value -eq '1.2.840.10045.2.1'
    $record = [ordered]@{
      Store = $store
      Thumbprint = $x.Thumbprint
      RawData = [Convert]::ToBase64String($x.RawData)
      Subject = $x.Subject
      NotAfter = $x.NotAfter.ToUniversalTime().ToString('o')
      HasPrivateKey = [bool]$x.HasPrivateKey
      Exportable = $Exportable
      KeyProvider = $(if ($ec) { 'CNG' } else { $global:WinModel.PfxKeyProvider })
      KeyFileName = ([guid]::NewGuid().ToString('N')) + '_machineguid'
      KeyAcl = @('S-1-5-18:F', 'S-1-5-32-544:F')
    }
    $existing = Get-ModelCertificate $store $x.Thumbprint
    if ($existing) { [void]$global:WinModel.Certificates.Remove($existing) }
    $global:WinModel.Certificates.Add($record)
    ConvertTo-ModelCertObject $record
  }
}

function Import-Certificate {
  # [PKI] Import-Certificate -FilePath X.cer -CertStoreLocation Cert:\LocalMachine\CA: a certificate without a key.
  [CmdletBinding()]
  param([Parameter(Mandatory)][string]$FilePath, [Parameter(Mandatory)][string]$CertStoreLocation)
  $x = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new([System.IO.File]::ReadAllBytes($FilePath))
  $store = ($CertStoreLocation -replace '^Cert:\\LocalMachine\\', '')
  $record = [ordered]@{ Store = $store; Thumbprint = $x.Thumbprint; RawData = [Convert]::ToBase64String($x.RawData); Subject = $x.Subject; NotAfter = $x.NotAfter.ToUniversalTime().ToString('o'); HasPrivateKey = $false; Exportable = $false; KeyProvider = 'CAPI'; KeyFileName = $null; KeyAcl = @() }
  if (-not (Get-ModelCertificate $store $x.Thumbprint)) { $global:WinModel.Certificates.Add($record) }
  ConvertTo-ModelCertObject $record
}

# ---- WMI: Win32_TSGeneralSetting [TSGS] ------------------------------------

function Get-CimInstance {
  [CmdletBinding()]
  param([string]$Namespace = 'root\cimv2', [Parameter(Position = 0)][string]$ClassName, [string]$Filter)
  if ($Namespace -ne 'root\cimv2\TerminalServices' -or $ClassName -ne 'Win32_TSGeneralSetting') { throw "model: Get-CimInstance $Namespace $ClassName is not modelled" }
  $name = $null
  if ($Filter -match "^TerminalName='(?<n>[^']+)'$") { $name = $Matches.n }
  foreach ($key in @($global:WinModel.Listeners.Keys)) {
    # WMI compares TerminalName without regard to case ('RDP-tcp' finds RDP-Tcp).
    if ($name -and $key -ne $name) { continue }
    $l = $global:WinModel.Listeners[$key]
    [pscustomobject]@{
      PSTypeName = 'Microsoft.Management.Infrastructure.CimInstance#root/cimv2/TerminalServices/Win32_TSGeneralSetting'
      TerminalName = $key
      SSLCertificateSHA1Hash = (Get-ModelListenerHash $key)
      SSLCertificateSHA1HashType = [uint32]$l.HashType
      SecurityLayer = [uint32]$l.SecurityLayer
      UserAuthenticationRequired = [uint32]$l.UserAuthentication
    }
  }
}

function Set-CimInstance {
  [CmdletBinding()]
  param([Parameter(Mandatory, ValueFromPipeline)]$InputObject, [hashtable]$Property)
  process {
    $l = $global:WinModel.Listeners[$InputObject.TerminalName]
    if ($Property.ContainsKey('SSLCertificateSHA1Hash')) {
      $hash = ([string]$Property.SSLCertificateSHA1Hash).ToUpperInvariant()
      # DOMAIN.md: WMI sets SSLCertificateSHA1Hash only for a certificate in LocalMachine\My; others fail with "Invalid Parameter".
      if (-not (Get-ModelCertificate 'My' $hash)) { throw [Microsoft.Management.Infrastructure.CimException]::new('Invalid parameter ') }
      $l.RegistryHash = $hash; $l.HashType = 3
    }
  }
}

# ---- services [SVC] ---------------------------------------------------------

function New-ModelServiceObject([string]$Name) {
  $s = $global:WinModel.Services[$Name]
  $o = [pscustomobject]@{ Name = $Name; ServiceName = $Name; DisplayName = $s.DisplayName; Status = $s.Status; StartType = $s.StartType }
  $o | Add-Member -MemberType ScriptMethod -Name Refresh -Value { $this.Status = $global:WinModel.Services[$this.Name].Status }
  # .NET Framework's ServiceController.Stop() (reference source, ServiceController.cs) first stops
  # every running dependent (waiting up to 30 s each) and never starts them again (issue 20);
  # .NET on pwsh 7 behaves otherwise, so the model follows the Framework.
  $o | Add-Member -MemberType ScriptMethod -Name Stop -Value { Invoke-ModelStop $this.Name $true }
  $o | Add-Member -MemberType ScriptProperty -Name DependentServices -Value { $n = $this.Name; @($global:WinModel.Services.Keys | Where-Object { $global:WinModel.Services[$_].DependsOn -contains $n } | ForEach-Object { New-ModelServiceObject $_ }) }
  $o | Add-Member -MemberType ScriptMethod -Name Start -Value { Invoke-ModelStart $this.Name }
  # ServiceController.WaitForStatus(status, timeout): bounded, throws System.ServiceProcess.TimeoutException.
  $o | Add-Member -MemberType ScriptMethod -Name WaitForStatus -Value {
    param($Desired, $Timeout)
    if ($null -eq $Timeout) { $global:WinModel.Violations.Add("WaitForStatus($Desired) on $($this.Name) without a timeout"); throw 'model: WaitForStatus without a timeout waits for ever' }
    Complete-ModelPending $this.Name ([TimeSpan]$Timeout)
    $this.Refresh()
    if ($this.Status -ne [string]$Desired) { throw [System.TimeoutException]::new('Time out has expired and the operation has not been completed.') }
  }
  $o
}

function Invoke-ModelStop([string]$Name, [bool]$WithDependents) {
  $s = $global:WinModel.Services[$Name]
  $dependents = @($global:WinModel.Services.Keys | Where-Object { $global:WinModel.Services[$_].DependsOn -contains $Name -and $global:WinModel.Services[$_].Status -ne 'Stopped' })
  if ($dependents.Count -gt 0 -and -not $WithDependents) {
    throw [System.InvalidOperationException]::new("Cannot stop $Name service on computer '.'.")
  }
  foreach ($d in $dependents) { $global:WinModel.Services[$d].Status = 'Stopped' }
  if ($s.Status -eq 'Stopped') { return }
  # DOMAIN.md: TermService can hang in Stopping; stopping UmRdpService first helps (so it hangs when
  # UmRdpService was still running when asked, or when the model says it always hangs).
  if ($s.Hangs -eq $true -or ($s.Hangs -eq 'unless-dependents-stopped' -and $dependents.Count -gt 0)) { $s.Status = 'StopPending'; return }
  $s.Status = 'StopPending'
  $s.PendingUntil = 'Stopped'
}

function Invoke-ModelStart([string]$Name) {
  $s = $global:WinModel.Services[$Name]
  if ($s.Status -eq 'Running') { return }
  if ($s.Status -eq 'StopPending') { throw [System.InvalidOperationException]::new("Cannot start service $Name on computer '.'.") }
  foreach ($dep in $s.DependsOn) {
    # DOMAIN.md: starting can fail with error 1068 (dependency failed).
    if ($global:WinModel.Services[$dep].Status -ne 'Running') { Invoke-ModelStart $dep; Complete-ModelPending $dep ([TimeSpan]::FromSeconds(60)) }
  }
  if ($s.StartFails) { throw [System.InvalidOperationException]::new("Cannot start service $Name on computer '.'. $($s.StartFails)") }
  # ServiceController.Start() on a Disabled service: InvalidOperationException, inner Win32 error 1058.
  if ($s.StartType -eq 'Disabled') { throw [System.InvalidOperationException]::new("Cannot start service $Name on computer '.'.", [System.ComponentModel.Win32Exception]::new(1058)) }
  $s.Status = 'StartPending'
  $s.PendingUntil = 'Running'
}

function Complete-ModelPending([string]$Name, [TimeSpan]$Within) {
  # The model's clock does not run: a pending transition completes within the service's
  # StopSeconds if the waiter waits that long; a hanging one never completes.
  $s = $global:WinModel.Services[$Name]
  if (-not $s.Contains('PendingUntil') -or -not $s.PendingUntil) { return }
  if ($s.PendingUntil -eq 'Stopped' -and $Within.TotalSeconds -lt $s.StopSeconds) { return }
  $s.Status = $s.PendingUntil
  $s.PendingUntil = $null
  if ($s.Status -eq 'Running') { Invoke-ModelServiceStarted $Name }
}

function Get-Service {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]]$Name)
  foreach ($n in $Name) {
    if (-not $global:WinModel.Services.Contains($n)) {
      $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.InvalidOperationException]::new("Cannot find any service with service name '$n'."), 'NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand', 'ObjectNotFound', $n))
      continue
    }
    New-ModelServiceObject $n
  }
}

function Write-ModelWaitWarnings([string]$Name, [string]$Verb) {
  # [SVC] Service.cs: while waiting, "WARNING: Waiting for service '<display> (<name>)' to stop..."
  # every 2 s on the warning stream (which powershell.exe writes to stdout).
  $s = $global:WinModel.Services[$Name]
  $n = [Math]::Max(1, [int]($s.StopSeconds / 2))
  for ($i = 0; $i -lt $n; $i++) { Write-Warning ("Waiting for service '{0} ({1})' to {2}..." -f $s.DisplayName, $Name, $Verb) }
}

function Stop-Service {
  [CmdletBinding()]
  param([Parameter(Position = 0, ValueFromPipelineByPropertyName)][string[]]$Name, [switch]$Force, [switch]$NoWait)
  foreach ($n in $Name) {
    Invoke-ModelStop $n ([bool]$Force)
    if ($NoWait) { continue }
    Write-ModelWaitWarnings $n 'stop'
    if ($global:WinModel.Services[$n].Status -eq 'StopPending' -and -not $global:WinModel.Services[$n].PendingUntil) {
      # [SVC] Stop-Service waits without a bound: on a hanging service it never returns.
      $global:WinModel.Violations.Add("Stop-Service $n waits for ever on a service stuck in StopPending")
      throw "model: Stop-Service $n would wait for ever (StopPending)"
    }
    Complete-ModelPending $n ([TimeSpan]::MaxValue)
  }
}

function Start-Service {
  [CmdletBinding()]
  param([Parameter(Position = 0, ValueFromPipelineByPropertyName)][string[]]$Name)
  foreach ($n in $Name) { Invoke-ModelStart $n; Complete-ModelPending $n ([TimeSpan]::MaxValue) }
}

function Restart-Service {
  [CmdletBinding()]
  param([Parameter(Position = 0, ValueFromPipelineByPropertyName)][string[]]$Name, [switch]$Force)
  foreach ($n in $Name) { Stop-Service -Name $n -Force:$Force; Start-Service -Name $n }
}

# ---- the System event log [AZ] ---------------------------------------------

function Get-WinEvent {
  [CmdletBinding()]
  param([hashtable[]]$FilterHashtable, [int]$MaxEvents = 0)
  $f = $FilterHashtable[0]
  $ids = @($f.Id | Where-Object { $null -ne $_ })
  $start = if ($f.ContainsKey('StartTime')) { ([datetime]$f.StartTime).ToUniversalTime() } else { [datetime]::MinValue }
  $found = @($global:WinModel.Events | Where-Object {
      $_.LogName -eq $f.LogName -and (-not $f.ContainsKey('ProviderName') -or $_.ProviderName -eq $f.ProviderName) -and ($ids.Count -eq 0 -or $ids -contains $_.Id) -and (-not $f.ContainsKey('Level') -or @($f.Level) -contains [int]$(if ($_.Contains('Level')) { $_.Level } else { 2 })) -and ([datetime]::Parse($_.TimeCreated).ToUniversalTime() -ge $start)
    } | Sort-Object { [datetime]::Parse($_.TimeCreated) } -Descending)
  if ($MaxEvents -gt 0) { $found = @($found | Select-Object -First $MaxEvents) }
  if ($found.Count -eq 0) {
    # Get-WinEvent reports "no events" as an error, NoMatchingEventsFound.
    $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Exception]::new('No events were found that match the specified selection criteria.'), 'NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand', 'ObjectNotFound', $null))
    return
  }
  foreach ($e in $found) {
    [pscustomobject]@{
      Id = [int]$e.Id
      ProviderName = $e.ProviderName
      TimeCreated = [datetime]::Parse($e.TimeCreated)
      Message = $e.Message
      Properties = @($e.Data | ForEach-Object { [pscustomobject]@{ Value = $_ } })
    }
  }
}

function Write-EventLog {
  [CmdletBinding()]
  param([string]$LogName, [string]$Source, [int]$EventId, [string]$EntryType, [string]$Message)
  Add-ModelEvent $Source $EventId $Message
}

# ---- the firewall [FW] ------------------------------------------------------

function Get-NetFirewallRule {
  [CmdletBinding()]
  param([string]$Group, [string]$DisplayGroup, [string]$Direction, [string]$Enabled, [string]$Action)
  $rules = @($global:WinModel.Firewall | Where-Object {
      (-not $Group -or $_.Group -eq $Group) -and (-not $DisplayGroup -or $_.DisplayGroup -eq $DisplayGroup) -and (-not $Direction -or $_.Direction -eq $Direction) -and (-not $Enabled -or $_.Enabled -eq $Enabled) -and (-not $Action -or $_.Action -eq $Action)
    })
  if ($rules.Count -eq 0 -and ($Group -or $DisplayGroup)) {
    $PSCmdlet.WriteError([System.Management.Automation.ErrorRecord]::new([System.Exception]::new('No MSFT_NetFirewallRule objects found with property ''Group'' equal to ''' + $Group + $DisplayGroup + '''.'), 'CmdletizationQuery_NotFound_Group,Get-NetFirewallRule', 'ObjectNotFound', $null))
    return
  }
  foreach ($r in $rules) { [pscustomobject]@{ Name = $r.Name; DisplayName = $r.DisplayName; Group = $r.Group; DisplayGroup = $r.DisplayGroup; Direction = $r.Direction; Action = $r.Action; Enabled = $r.Enabled; ModelLocalPort = $r.LocalPort; ModelProtocol = $r.Protocol } }
}

function Get-NetFirewallPortFilter {
  [CmdletBinding()]
  param([Parameter(ValueFromPipeline)]$AssociatedNetFirewallRule)
  # FirewallPortFilterMs: how long one rule's filter takes (a host with a thousand rules takes a minute in all, issue 20) [GUESS on the figure].
  process {
    if ($global:WinModel.Contains('FirewallPortFilterMs') -and $global:WinModel.FirewallPortFilterMs) { Start-Sleep -Milliseconds ([int]$global:WinModel.FirewallPortFilterMs) }
    [pscustomobject]@{ LocalPort = $AssociatedNetFirewallRule.ModelLocalPort; Protocol = $AssociatedNetFirewallRule.ModelProtocol }
  }
}

# ---- ACLs of the key folders and files (DOMAIN.md, [KB2001849]) ----------------

function Get-ModelKeyAcl([string]$Path) {
  $machineKeys = Join-Path $env:ProgramData 'Microsoft\Crypto\RSA\MachineKeys'
  $cngKeys = Join-Path $env:ProgramData 'Microsoft\Crypto\Keys'
  if ($Path -eq $machineKeys) { return , $global:WinModel.KeyFolderAcl.MachineKeys }
  if ($Path -eq $cngKeys) { return , $global:WinModel.KeyFolderAcl.Keys }
  foreach ($c in $global:WinModel.Certificates) {
    $folder = if ($c.KeyProvider -eq 'CNG') { $cngKeys } else { $machineKeys }
    if ($c.HasPrivateKey -and $Path -eq (Join-Path $folder $c.KeyFileName)) { return , $c.KeyAcl }
  }
  foreach ($name in @($global:WinModel.OrphanKeyFiles)) { if ($name -and $Path -eq (Join-Path $machineKeys $name)) { return , @(Get-ModelOwnKeyAcl) } }
  return $null
}

function Get-Acl {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string]$Path, [string]$LiteralPath)
  $p = if ($Path) { $Path } else { $LiteralPath }
  $acl = Get-ModelKeyAcl $p
  if ($null -eq $acl) { throw [System.Management.Automation.ItemNotFoundException]::new("Cannot find path '$p' because it does not exist.") }
  $rules = @($acl | ForEach-Object {
      $who, $what = $_ -split ':', 2
      # FileSystemRights as Get-Acl returns it: an Int32 enum, so GENERIC_READ (0x80000000) is negative.
      $mask = Get-ModelMask $what
      if ($mask -ge 2147483648) { $mask -= 4294967296 }
      [pscustomobject]@{ IdentityReference = [pscustomobject]@{ Value = $who }; FileSystemRights = [int]$mask; AccessControlType = 'Allow' }
    })
  $o = [pscustomobject]@{ Path = $p; ModelRules = $rules }
  $o | Add-Member -MemberType ScriptMethod -Name GetAccessRules -Value { param($explicit, $inherited, $type) $this.ModelRules }
  $o
}

# ---- the Task Scheduler -----------------------------------------------------

function New-ScheduledTaskAction { param([string]$Execute, [string]$Argument, [string]$WorkingDirectory) [pscustomobject]@{ Execute = $Execute; Arguments = $Argument; WorkingDirectory = $WorkingDirectory } }
function New-ScheduledTaskPrincipal { param([string]$UserId, [string]$LogonType, [string]$RunLevel) [pscustomobject]@{ UserId = $UserId; LogonType = $LogonType; RunLevel = $RunLevel } }
function New-ScheduledTaskSettingsSet {
  param([switch]$StartWhenAvailable, [switch]$AllowStartIfOnBatteries, [switch]$DontStopIfGoingOnBatteries, [TimeSpan]$ExecutionTimeLimit, [TimeSpan]$DeleteExpiredTaskAfter)
  [pscustomobject]@{ StartWhenAvailable = [bool]$StartWhenAvailable; DisallowStartIfOnBatteries = -not $AllowStartIfOnBatteries; StopIfGoingOnBatteries = -not $DontStopIfGoingOnBatteries; ExecutionTimeLimit = $ExecutionTimeLimit; DeleteExpiredTaskAfter = $DeleteExpiredTaskAfter }
}
function New-ScheduledTaskTrigger { param([switch]$Once, [datetime]$At) [pscustomobject]@{ Once = [bool]$Once; At = $At; EndBoundary = $null } }
function Register-ScheduledTask {
  param([string]$TaskName, $Action, $Principal, $Settings, $Trigger, [switch]$Force)
  if ($global:WinModel.ScheduledTasks.Contains($TaskName) -and -not $Force) { throw "Cannot create a file when that file already exists." }
  $global:WinModel.ScheduledTasks[$TaskName] = [ordered]@{ Execute = $Action.Execute; Arguments = $Action.Arguments; UserId = $Principal.UserId; RunLevel = $Principal.RunLevel; DisallowStartIfOnBatteries = $Settings.DisallowStartIfOnBatteries; StopIfGoingOnBatteries = $Settings.StopIfGoingOnBatteries; DeleteExpiredTaskAfter = [string]$Settings.DeleteExpiredTaskAfter; HasEndBoundary = [bool]($Trigger -and $Trigger.EndBoundary); HasTrigger = $null -ne $Trigger; Started = $false }
  [pscustomobject]@{ TaskName = $TaskName }
}
function Start-ScheduledTask { param([string]$TaskName) if (-not $global:WinModel.ScheduledTasks.Contains($TaskName)) { throw "The system cannot find the file specified." }; $global:WinModel.ScheduledTasks[$TaskName].Started = $true }

# ---- the Windows-only .NET calls the scripts keep in small functions ---------
# (aliases resolve before functions, so these replace the scripts' own definitions)

function Test-ModelRsaCertificateExtensions { [bool]$global:WinModel.HasRsaCertificateExtensions }

function Get-ModelCngKeyName($Certificate) {
  # RSACertificateExtensions.GetRSAPrivateKey(cert) -> RSACng; its Key.UniqueName is the file under Crypto\Keys.
  if (-not $global:WinModel.HasRsaCertificateExtensions) { throw [System.Management.Automation.RuntimeException]::new('Unable to find type [System.Security.Cryptography.X509Certificates.RSACertificateExtensions].') }
  # It opens CAPI keys too (RSACryptoServiceProvider, which has no .Key: no CNG name), so it throws
  # for a key the caller cannot open whatever its provider.
  if ($Certificate.HasPrivateKey) { Test-ModelCallerOpens (Get-ModelCertificate $Certificate.ModelStore $Certificate.Thumbprint) }
  if ($Certificate.HasPrivateKey -and $Certificate.ModelKeyProvider -eq 'CNG') { return $Certificate.ModelKeyFileName }
  return $null
}

function Grant-ModelNetworkServiceRead([string]$Path) {
  # icacls <file> /grant *S-1-5-20:(R)
  foreach ($c in $global:WinModel.Certificates) {
    $folder = if ($c.KeyProvider -eq 'CNG') { 'Microsoft\Crypto\Keys' } else { 'Microsoft\Crypto\RSA\MachineKeys' }
    if ($Path -eq (Join-Path (Join-Path $env:ProgramData $folder) $c.KeyFileName)) { $c.KeyAcl = @($c.KeyAcl) + 'S-1-5-20:R'; return }
  }
  throw "icacls failed (2): The system cannot find the file specified: $Path"
}

function Get-ModelCallerSids { @($global:WinModel.CallerSids) }

Set-Alias -Name Get-CallerSids -Value Get-ModelCallerSids -Scope Global
Set-Alias -Name Test-RsaCertificateExtensions -Value Test-ModelRsaCertificateExtensions -Scope Global
Set-Alias -Name Get-CngKeyName -Value Get-ModelCngKeyName -Scope Global
Set-Alias -Name Grant-NetworkServiceRead -Value Grant-ModelNetworkServiceRead -Scope Global

# Windows' environment as the scripts read it.
if (-not $env:ProgramData) { $env:ProgramData = 'C:\ProgramData' }
if (-not $env:SystemRoot) { $env:SystemRoot = 'C:\Windows' }

function Join-Path {
  # Windows paths (C:\..., HKLM:\..., Cert:\...) name drives that do not exist here: join them as Windows does.
  [CmdletBinding()]
  param([Parameter(Position = 0)][string]$Path, [Parameter(Position = 1)][string]$ChildPath)
  if ($Path -match '^([A-Za-z]|HKLM|HKCU|Cert):') { return ($Path.TrimEnd('\') + '\' + $ChildPath.TrimStart('\')) }
  Microsoft.PowerShell.Management\Join-Path -Path $Path -ChildPath $ChildPath
}
