#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rdpcert contributors
# MIT License (see the LICENSE of rdpcert)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: rdpcert_deploy
short_description: Put a CA-issued certificate on the RDP listener (rdpcert deploy)
version_added: "0.1.0"
description:
  - Runs C(rdpcert deploy --yes --json) with a certificate from files on the target (I(cert),
    I(key), optional I(chain)) or a PKCS#12 file (I(pfx)). rdpcert checks the certificate before
    anything changes, backs up, writes or binds it, verifies with a real RDP handshake and rolls
    back on failure.
  - Idempotent - when the listener already presents the certificate rdpcert answers
    C(not-needed) and the task is unchanged.
  - The PFX password goes to rdpcert on standard input, never on its command line.
  - In check mode it runs C(--dry-run) (rdpcert checks the certificate and plans); C(changed) is
    true unless rdpcert says the deploy is not needed.
  - Exit 2 (rolled back) and 3 (refused, busy, bad usage) fail the task with rdpcert's one-line reason.
options:
  rdpcert_bin:
    description: Path of the rdpcert binary on the target. Default C(rdpcert) from the target's PATH.
    type: path
  cert:
    description: The certificate, PEM (it may carry the chain after it, as fullchain.pem) (C(--cert)).
    type: path
  key:
    description: Its unencrypted private key, PEM (C(--key)).
    type: path
  chain:
    description: Intermediate certificates, PEM (C(--chain)).
    type: path
  pfx:
    description: A PKCS#12 file with certificate, key and chain (C(--pfx)).
    type: path
  pfx_password:
    description: The PFX password, given to rdpcert on standard input.
    type: str
  reason:
    description: Recorded in rdpcert's journal and backup (C(--reason)).
    type: str
  config:
    description: C(--config).
    type: path
  backend:
    description: C(--backend).
    type: str
    choices: [auto, windows, xrdp]
  xrdp_ini:
    description: C(--xrdp-ini).
    type: path
  state_dir:
    description: C(--state-dir).
    type: path
  port:
    description: Verify on this port (the documented override C(RDPCERT_PORT); rdpcert has no flag for it).
    type: int
  warn_days:
    description: C(--warn-days).
    type: int
  timeout:
    description: C(--timeout), in ms.
    type: int
  restart:
    description: C(false) passes C(--no-restart); C(true) or unset leaves it to the config's C(restartCommand).
    type: bool
  verify_timeout:
    description: C(--verify-timeout), in ms.
    type: int
author:
  - rdpcert contributors
notes:
  - Supports check mode and diff mode.
  - Runs rdpcert as an argv list, never through a shell.
'''

EXAMPLES = r'''
- name: Deploy the certificate certbot renewed
  rdpcert.rdpcert.rdpcert_deploy:
    cert: /etc/letsencrypt/live/rdp.example.com/fullchain.pem
    key: /etc/letsencrypt/live/rdp.example.com/privkey.pem

- name: Deploy a PFX from the enterprise CA
  rdpcert.rdpcert.rdpcert_deploy:
    pfx: /root/rdp.pfx
    pfx_password: "{{ vault_rdp_pfx_password }}"
'''

RETURN = r'''
outcome:
  description: deployed, not-needed, planned (check mode), refused, busy, rolled-back or rollback-failed.
  returned: always
  type: str
reason:
  description: rdpcert's one-line reason.
  returned: always
  type: str
old_thumbprint:
  description: The certificate presented before.
  returned: always
  type: str
new_thumbprint:
  description: The deployed certificate's SHA-1 thumbprint.
  returned: always
  type: str
warnings_rdpcert:
  description: rdpcert's warnings (e.g. the host's names are not on the certificate).
  returned: always
  type: list
  elements: str
report:
  description: The whole rdpcert.deploy/v1 report.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rdpcert.rdpcert.plugins.module_utils.rdpcert import (
    COMMON_ARGS,
    common_argv,
    expect_schema,
    failure_reason,
    run_rdpcert,
)


def main():
    args = dict(COMMON_ARGS)
    args.update(
        cert=dict(type='path'),
        key=dict(type='path', no_log=False),
        chain=dict(type='path'),
        pfx=dict(type='path'),
        pfx_password=dict(type='str', no_log=True),
        reason=dict(type='str'),
        restart=dict(type='bool'),
        verify_timeout=dict(type='int'),
    )
    module = AnsibleModule(
        argument_spec=args,
        supports_check_mode=True,
        mutually_exclusive=[('pfx', 'cert'), ('pfx', 'key'), ('pfx', 'chain')],
        required_one_of=[('pfx', 'cert')],
        required_together=[('cert', 'key')],
        required_by={'pfx_password': 'pfx', 'chain': 'cert'},
    )
    p = module.params
    argv = ['deploy', '--yes', '--json'] + common_argv(module)
    data = None
    if p['pfx']:
        argv += ['--pfx', p['pfx']]
        # rdpcert reads the password's first line from standard input when no --pfx-password-file is given.
        data = p['pfx_password'] or ''
    else:
        argv += ['--cert', p['cert'], '--key', p['key']]
        if p['chain']:
            argv += ['--chain', p['chain']]
    if p['reason']:
        argv += ['--reason', p['reason']]
    if p['restart'] is False:
        argv.append('--no-restart')
    if p['verify_timeout'] is not None:
        argv += ['--verify-timeout', str(p['verify_timeout'])]
    if module.check_mode:
        argv.append('--dry-run')

    rc, report, err, cmd = run_rdpcert(module, argv, data=data)
    expect_schema(module, rc, report, err, cmd, 'rdpcert.deploy/v1')
    outcome = report.get('outcome')
    certificate = report.get('certificate') or {}
    old = report.get('oldThumbprint')
    new = report.get('newThumbprint') or certificate.get('thumbprint')
    changed = outcome in ('deployed', 'planned', 'rollback-failed')
    result = dict(
        changed=changed,
        outcome=outcome,
        exit_code=rc,
        reason=report.get('reason'),
        old_thumbprint=old,
        new_thumbprint=new,
        warnings_rdpcert=report.get('warnings') or [],
        report=report,
        cmd=cmd,
    )
    if changed:
        result['diff'] = dict(
            before='thumbprint: %s\n' % (old or '(unknown)'),
            after='thumbprint: %s\n' % (new or '(unknown)'),
            before_header='RDP listener certificate',
            after_header='RDP listener certificate',
        )
    if rc != 0:
        result['msg'] = failure_reason(rc, report, err)
        module.fail_json(**result)
    for warning in result['warnings_rdpcert']:
        module.warn('rdpcert deploy: %s' % warning)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
