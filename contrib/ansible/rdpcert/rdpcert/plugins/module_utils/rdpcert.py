# -*- coding: utf-8 -*-
# Copyright: rdpcert contributors
# MIT License (see the LICENSE of rdpcert)
"""Shared code of the rdpcert modules: option specs, argv building, and reading rdpcert's JSON reports.

rdpcert is always run as an argv list (module.run_command with a list, no
shell, no variable or ~ expansion), and a secret (a PFX password) only ever
travels on standard input.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# The options every module shares, named after the CLI's flags.
COMMON_ARGS = dict(
    rdpcert_bin=dict(type='path'),
    config=dict(type='path'),
    backend=dict(type='str', choices=['auto', 'windows', 'xrdp']),
    xrdp_ini=dict(type='path'),
    state_dir=dict(type='path'),
    port=dict(type='int'),
    warn_days=dict(type='int'),
    timeout=dict(type='int'),
)

# rdpcert reports health with these exit codes (docs/exit-codes.md).
EXIT_NAMES = {0: 'OK', 1: 'WARNING', 2: 'CRITICAL', 3: 'UNKNOWN'}


def rdpcert_bin(module):
    """The rdpcert binary: rdpcert_bin, else `rdpcert` on the target's PATH."""
    if module.params.get('rdpcert_bin'):
        return module.params['rdpcert_bin']
    return module.get_bin_path('rdpcert', required=True)


def common_argv(module):
    """Flags for the shared options that were given (the CLI's defaults and the config file count otherwise)."""
    p = module.params
    argv = []
    if p.get('config'):
        argv += ['--config', p['config']]
    if p.get('backend'):
        argv += ['--backend', p['backend']]
    if p.get('xrdp_ini'):
        argv += ['--xrdp-ini', p['xrdp_ini']]
    if p.get('state_dir'):
        argv += ['--state-dir', p['state_dir']]
    if p.get('warn_days') is not None:
        argv += ['--warn-days', str(p['warn_days'])]
    if p.get('timeout') is not None:
        argv += ['--timeout', str(p['timeout'])]
    return argv


def environ(module):
    """`port` has no flag in rdpcert: it is the config field `port`, overridden by RDPCERT_PORT."""
    env = {}
    if module.params.get('port') is not None:
        env['RDPCERT_PORT'] = str(module.params['port'])
    return env


def one_line(text):
    """The first non-empty line of a text, or ''."""
    for line in (text or '').splitlines():
        if line.strip():
            return line.strip()
    return ''


def run_rdpcert(module, argv, data=None):
    """Runs rdpcert (argv list) and returns (rc, report or None, stderr, cmd).

    `data` goes to standard input (a PFX password); the command line never
    carries it, and the returned cmd is what is shown to the user.
    """
    cmd = [rdpcert_bin(module)] + argv
    rc, out, err = module.run_command(
        cmd,
        data=data,
        environ_update=environ(module),
        expand_user_and_vars=False,
    )
    report = None
    try:
        parsed = json.loads(out)
        if isinstance(parsed, dict) and isinstance(parsed.get('schema'), str):
            report = parsed
    except ValueError:
        report = None
    return rc, report, err, cmd


def failure_reason(rc, report, err):
    """rdpcert's one-line reason for a failure: the report's reason (or error message), else its first stderr line."""
    if report:
        if report.get('schema') == 'rdpcert.error/v1':
            error = report.get('error') or {}
            msg = error.get('message') or ''
            fix = error.get('fix')
            return '%s: %s' % (msg, fix) if fix else msg
        if report.get('reason'):
            return one_line(report['reason'])
    return one_line(err) or 'rdpcert exited with %s and printed no report' % rc


def expect_schema(module, rc, report, err, cmd, schema):
    """Fails the module with one line when rdpcert printed something other than the expected report."""
    if report is None or report.get('schema') != schema:
        module.fail_json(
            msg=failure_reason(rc, report, err),
            rc=rc,
            cmd=cmd,
            exit_name=EXIT_NAMES.get(rc, 'UNKNOWN'),
            report=report,
        )
