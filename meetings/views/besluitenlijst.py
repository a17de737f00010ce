"""The besluitenlijst of a closed meeting, as a page and as a PDF: only the sections the
reader's organisation attended (all for the chair and secretary), action texts through the
privacy gate. Opening either is audited; the gate's reads are audited by the gate."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user

from meetings import besluitenlijst
from meetings.models import DECISION_KINDS, Meeting
from meetings.policy import manages
from meetings.views import bp
from meetings.views.overleggen import visible_meeting
from netwerk.db import db
from netwerk.web import Page, permission_required, work_actor


def _lijst(meeting: Meeting) -> besluitenlijst.Besluitenlijst | None:
    """The reader's list, or None when there is none for them (not closed, not attended)."""
    sections = besluitenlijst.sections_for(meeting, current_user)
    if meeting.status != "gesloten" or not sections:
        return None
    return besluitenlijst.build(meeting, sections, work_actor(), read_as=current_user,
                                reveal_anonymous=manages(current_user, meeting.overleg))


@bp.route("/vergaderingen/<meeting_id>/besluitenlijst")
@permission_required("meetings.view")
def besluitenlijst_page(meeting_id: str) -> Page:
    meeting = visible_meeting(meeting_id)
    lijst = _lijst(meeting)
    if lijst is not None:
        besluitenlijst.audit_opened(lijst, work_actor(), "html")
        db.session.commit()  # the gate's entries and the opening's
    return render_template("meetings/besluitenlijst.html", meeting=meeting, lijst=lijst, kinds=DECISION_KINDS,
                           title=besluitenlijst.title(meeting))


@bp.route("/vergaderingen/<meeting_id>/besluitenlijst.pdf")
@permission_required("meetings.view")
def besluitenlijst_pdf(meeting_id: str) -> Response:
    meeting = visible_meeting(meeting_id)
    lijst = _lijst(meeting)
    if lijst is None:
        abort(404)
    reader = "de voorzitter en secretaris" if manages(current_user, meeting.overleg) \
        else current_user.organisation.name
    pdf = besluitenlijst.render_pdf(lijst, reader)
    besluitenlijst.audit_opened(lijst, work_actor(), "pdf")
    db.session.commit()
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="besluitenlijst-{meeting.date}.pdf"'})
