#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: rdpcert contributors
# MIT License (see the LICENSE of rdpcert)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: rdpcert_status
short_description: Verdict on this host's RDP listener certificate (rdpcert status)
version_added: "0.1.0"
description:
  - Runs C(rdpcert status --json) on the target and returns its verdict, health, problems,
    the configured certificate and the one the listener presents in a real RDP TLS handshake.
  - Read-only as far as Ansible is concerned; it never reports C(changed).
    Like every rdpcert command that looks at the host, C(status) first finishes or rolls back
    a rotation that a killed rdpcert left half done (the state dir's journal).
  - A CRITICAL or WARN verdict does not fail the task; use C(failed_when) on C(health).
    The task fails only when rdpcert printed no status report (bad usage, unreadable configuration).
options:
  rdpcert_bin:
    description: Path of the rdpcert binary on the target. Default C(rdpcert) from the target's PATH.
    type: path
  config:
    description: rdpcert's configuration file (C(--config)). Default C(/etc/rdpcert/config.json) when it exists.
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
      - Probe this port instead of the configured one. rdpcert has no flag for it; the module sets the
        documented override C(RDPCERT_PORT) (config field C(port)).
    type: int
  warn_days:
    description: WARN within this many days of expiry (C(--warn-days)).
    type: int
  timeout:
    description: Deadline for the listener check in ms (C(--timeout)).
    type: int
author:
  - rdpcert contributors
notes:
  - Supports check mode (it runs the same read-only command).
  - Runs rdpcert as an argv list, never through a shell.
'''

EXAMPLES = r'''
- name: Read the RDP certificate verdict
  rdpcert.rdpcert.rdpcert_status:
  register: rdp

- name: Fail where the listener is unhealthy
  rdpcert.rdpcert.rdpcert_status:
    warn_days: 21
  register: rdp
  failed_when: rdp.health == 'critical'
'''

RETURN = r'''
verdict:
  description: rdpcert's verdict (OK, WARN, EXPIRED, NOT-YET-VALID, CORRUPT, MISMATCH, DOWNGRADED, DOWN, UNKNOWN).
  returned: always
  type: str
  sample: WARN
health:
  description: ok, warn, critical or unknown.
  returned: always
  type: str
exit_code:
  description: rdpcert's exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
  returned: always
  type: int
reason:
  description: The primary problem, or why all is well.
  returned: always
  type: str
fix:
  description: What to do about the primary problem, or null.
  returned: always
  type: str
problems:
  description: Every problem, most specific first (verdict, code, reason, fix, fixedByReplacement).
  returned: always
  type: list
  elements: dict
configured:
  description: The configured certificate (rdpcert.status/v1 C(configured)).
  returned: always
  type: dict
presented:
  description: What the listener presented (rdpcert.status/v1 C(presented)).
  returned: always
  type: dict
days_left:
  description: Days until the presented (else configured) certificate expires, or null.
  returned: always
  type: int
thumbprint:
  description: SHA-1 thumbprint of the presented (else configured) certificate, or null.
  returned: always
  type: str
report:
  description: The whole rdpcert.status/v1 report.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.rdpcert.rdpcert.plugins.module_utils.rdpcert import (
    COMMON_ARGS,
    common_argv,
    expect_schema,
    run_rdpcert,
)


def certificate_of(part):
    if isinstance(part, dict) and isinstance(part.get('certificate'), dict):
        return part['certificate']
    return None


def main():
    module = AnsibleModule(argument_spec=dict(COMMON_ARGS), supports_check_mode=True)
    rc, report, err, cmd = run_rdpcert(module, ['status', '--json'] + common_argv(module))
    expect_schema(module, rc, report, err, cmd, 'rdpcert.status/v1')
    cert = certificate_of(report.get('presented')) or certificate_of(report.get('configured'))
    module.exit_json(
        changed=False,
        verdict=report.get('status'),
        health=report.get('health'),
        exit_code=rc,
        reason=report.get('reason'),
        fix=report.get('fix'),
        problems=report.get('problems') or [],
        configured=report.get('configured'),
        presented=report.get('presented'),
        days_left=cert.get('daysLeft') if cert else None,
        thumbprint=cert.get('thumbprint') if cert else None,
        report=report,
    )


if __name__ == '__main__':
    main()
