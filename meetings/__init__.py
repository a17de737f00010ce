"""Meetings: overleg types and their sections, meetings, attendance, the agenda, the chair's
console, the live projector view and its event stream, decisions, the besluitenlijst and the
letters that tell parents their family is discussed.

Depends on ``netwerk`` and ``privacy``; nothing in ``netwerk`` imports from here.
"""
