#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rdpcert contributors
# MIT License (see the LICENSE of rdpcert)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: rdpcert_run
short_description: One pass of rdpcert's policy - rotate or deploy only when due (rdpcert run)
version_added: "0.1.0"
description:
  - Runs C(rdpcert run --json), the pass the systemd timer runs - finish an interrupted rotation,
    inspect, rotate a self-signed certificate or deploy a newer CA-issued one only when due,
    verify on the wire, roll back on failure, back off after failures.
  - C(changed) is true exactly when the certificate the listener uses changed (outcome
    C(rotated), C(deployed), C(renewed), C(not-fixed), C(rollback-failed), or an interrupted
    rotation completed first).
  - In check mode it runs C(rdpcert run --dry-run --json), the same decision and exit code as
    the real pass, and reports C(changed) when the pass would rotate, deploy or run the renew
    hook. Nothing on the host changes.
  - Exit 2 (CRITICAL) and 3 (UNKNOWN) fail the task with rdpcert's one-line reason.
    Exit 1 (WARNING - a warning a new certificate does not fix, or a CA-issued certificate
    near expiry with nothing newer to deploy) does not fail it, as the systemd unit counts 1
    as success; it is returned as an Ansible warning, and fails the task with
    I(fail_on_warning=true).
options:
  rdpcert_bin:
    description: Path of the rdpcert binary on the target. Default C(rdpcert) from the target's PATH.
    type: path
  config:
    description: rdpcert's configuration file (C(--config)).
    type: path
  backend:
    description: C(--backend).
    type: str
    choices: [auto, windows, xrdp]
  xrdp_ini:
    description: xrdp's configuration file (C(--xrdp-ini)).
    type: path
  state_dir:
    description: rdpcert's state dir (C(--state-dir)).
    type: path
  port:
    description:
      - Probe and verify on this port. rdpcert has no flag for it; the module sets the documented
        override C(RDPCERT_PORT) (config field C(port)).
    type: int
  warn_days:
    description: C(--warn-days).
    type: int
  timeout:
    description: Deadline for each listener check in ms (C(--timeout)).
    type: int
  restart:
    description:
      - C(false) passes C(--no-restart) (xrdp reads its certificate for every new connection).
        C(true) or unset leaves the restart to the config's C(restartCommand) (default C(auto)).
    type: bool
  deploy_source:
    description: xrdp - a directory with fullchain.pem and privkey.pem to deploy a newer CA-issued certificate from (C(--deploy-source)).
    type: path
  textfile_dir:
    description: Write rdpcert.prom there after the pass (C(--textfile-dir)).
    type: path
  log_dir:
    description: C(--log-dir).
    type: path
  verify_timeout:
    description: How long a rotation waits for the new certificate, in ms (C(--verify-timeout)).
    type: int
  fail_on_warning:
    description: Fail the task on exit 1 (WARNING) too.
    type: bool
    default: false
author:
  - rdpcert contributors
notes:
  - Supports check mode (C(--dry-run)) and diff mode (old and new SHA-1 thumbprints).
  - Runs rdpcert as an argv list, never through a shell.
'''

EXAMPLES = r'''
- name: The scheduled pass, on demand across the fleet
  rdpcert.rdpcert.rdpcert_run:
    config: /etc/rdpcert/config.json
  register: pass

- name: What would the pass do? (nothing changes)
  rdpcert.rdpcert.rdpcert_run:
  check_mode: true
  diff: true
'''

RETURN = r'''
outcome:
  description: rdpcert.run/v1 C(outcome) (nothing, rotated, deployed, renewed, ..., or "dry-run - would rotate" and so on).
  returned: always
  type: str
action:
  description: none, rotate, deploy, renew-command or backoff.
  returned: always
  type: str
verdict:
  description: The verdict the pass acted on.
  returned: always
  type: str
exit_code:
  description: rdpcert's exit code.
  returned: always
  type: int
reason:
  description: rdpcert's one-line reason.
  returned: always
  type: str
old_thumbprint:
  description: The certificate before the pass, when the pass (or its plan) names it.
  returned: always
  type: str
new_thumbprint:
  description: The certificate after the pass, when it changed.
  returned: always
  type: str
report:
  description: The whole rdpcert.run/v1 report.
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

# Outcomes of a real pass after which the listener uses another certificate than before.
CHANGED_OUTCOMES = ('rotated', 'deployed', 'renewed', 'not-fixed', 'rollback-failed')


def changed_by(report, check_mode):
    outcome = report.get('outcome') or ''
    if check_mode:
        return outcome.startswith('dry-run: would ') and outcome != 'dry-run: would refuse'
    rotation = report.get('rotation') or {}
    if outcome == 'deployed' and rotation.get('outcome') == 'not-needed':
        return False
    recovered = report.get('recovered') or {}
    return outcome in CHANGED_OUTCOMES or recovered.get('outcome') in ('completed', 'rollback-failed')


def main():
    args = dict(COMMON_ARGS)
    args.update(
        restart=dict(type='bool'),
        deploy_source=dict(type='path'),
        textfile_dir=dict(type='path'),
        log_dir=dict(type='path'),
        verify_timeout=dict(type='int'),
        fail_on_warning=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=args, supports_check_mode=True)
    p = module.params
    argv = ['run', '--json'] + common_argv(module)
    if module.check_mode:
        argv.append('--dry-run')
    if p['restart'] is False:
        argv.append('--no-restart')
    for option, flag in (('deploy_source', '--deploy-source'), ('textfile_dir', '--textfile-dir'), ('log_dir', '--log-dir')):
        if p[option]:
            argv += [flag, p[option]]
    if p['verify_timeout'] is not None:
        argv += ['--verify-timeout', str(p['verify_timeout'])]

    rc, report, err, cmd = run_rdpcert(module, argv)
    expect_schema(module, rc, report, err, cmd, 'rdpcert.run/v1')
    rotation = report.get('rotation') or {}
    old = rotation.get('oldThumbprint')
    new = rotation.get('newThumbprint')
    changed = changed_by(report, module.check_mode)
    result = dict(
        changed=changed,
        outcome=report.get('outcome'),
        action=report.get('action'),
        verdict=report.get('status'),
        exit_code=rc,
        reason=report.get('reason'),
        old_thumbprint=old,
        new_thumbprint=new,
        report=report,
        cmd=cmd,
    )
    if changed:
        after = new if new else ('(new certificate)' if module.check_mode else '(renewed)')
        result['diff'] = dict(
            before='thumbprint: %s\n' % (old or '(unknown)'),
            after='thumbprint: %s\n' % after,
            before_header='RDP listener certificate',
            after_header='RDP listener certificate',
        )
    if rc >= 2 or (rc == 1 and p['fail_on_warning']):
        result['msg'] = failure_reason(rc, report, err)
        module.fail_json(**result)
    if rc == 1:
        module.warn('rdpcert run: WARNING: %s' % failure_reason(rc, report, err))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
