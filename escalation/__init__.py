"""Escalation (opschalingsmodel): stagnation rules kept as data, the escalation ladder per
overleg, escalation records with owners and working-day deadlines, and the scheduled scan
that proposes escalations when a case stalls.

Depends on ``netwerk``, ``privacy`` and ``meetings``.
"""
