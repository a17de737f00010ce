"""Privacy: everything that decides or records who learns what about a family.

The covenant (parties x purposes x data categories x legal basis), consent steps, the one
policy decision point every read of family content goes through, the tamper-evident audit
log, field encryption with key rotation, retention and the privacy officer's workspace.
The decision and the audit import nothing from the domain packages (they call into
them); only the privacy officer's screens read organisations and users to name them.
"""
