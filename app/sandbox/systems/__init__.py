"""Local stand-ins for the downstream systems a workspace's connectors deliver to.

    from app.sandbox.systems.standins import running_stand_ins

    async with running_stand_ins(workspace, sandbox) as stand_ins:
        services = build_services(..., environ=stand_ins.environ, adapt_workspace=stand_ins.adapt)

A mail server (aiosmtpd), a Jira-compatible ticket system, the CRM as a SQLite database and
a webhook receiver that verifies signatures, on free loopback ports with secrets generated
for the run. `trellis run` starts them on the sandbox for the bundled demo (or when
sandbox.yml says `systems: true`), `trellis demo` always; with Slack tokens, never. The
browser view's "Systems" lists what each received (app.sandbox.systems.view).
"""
