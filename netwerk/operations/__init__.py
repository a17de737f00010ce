"""Every state change: accounts, sessions, tokens, organisations, persons, involvements,
matches, content and purposes.

An operation validates, changes the database, writes its audit entry and queues what must
happen after commit, and it only ``flush()``es: the request (or job) owns the transaction,
so a failure anywhere leaves nothing half-written. The acting user is always passed in.
An :class:`OperationError` means "refused": nothing but the refusal's own audit entry (and,
for logins, the failure count) has been written, so the caller may commit it.
"""

from netwerk.operations.accounts import (
    OrganisationData,
    UserData,
    create_organisation,
    create_user,
    reset_password,
    set_organisation_active,
    set_user_active,
    update_organisation,
    update_user,
)
from netwerk.operations.auth import (
    LOGIN_REFUSED,
    LoginResult,
    authenticate,
    change_password,
    check_second_factor,
    confirm_session_second_factor,
    disable_two_factor,
    enable_two_factor,
    end_session,
    issue_api_token,
    revoke_api_token,
    start_session,
)
from netwerk.operations.common import OperationError
from netwerk.operations.families import (
    DuplicatePerson,
    PersonData,
    compose_family,
    record_consent,
    register_person,
    subject_of,
    withdraw_person_consent,
)
from netwerk.operations.involvements import (
    Acknowledgement,
    InvolvementData,
    acknowledge_match,
    end_involvement,
    expire_involvements,
    mark_notifications_read,
    match_party,
    register_involvement,
)
from netwerk.operations.notes import add_note
from netwerk.operations.purposes import claim_purpose
from netwerk.operations.reporting import (
    NEW_PERSON,
    add_household_member,
    family_of,
    identify_person,
    report_involvement,
)

__all__ = [
    "LOGIN_REFUSED",
    "NEW_PERSON",
    "Acknowledgement",
    "DuplicatePerson",
    "InvolvementData",
    "LoginResult",
    "OperationError",
    "OrganisationData",
    "PersonData",
    "UserData",
    "acknowledge_match",
    "add_household_member",
    "add_note",
    "authenticate",
    "change_password",
    "check_second_factor",
    "claim_purpose",
    "compose_family",
    "confirm_session_second_factor",
    "create_organisation",
    "create_user",
    "disable_two_factor",
    "enable_two_factor",
    "end_involvement",
    "end_session",
    "expire_involvements",
    "family_of",
    "identify_person",
    "issue_api_token",
    "mark_notifications_read",
    "match_party",
    "record_consent",
    "register_involvement",
    "register_person",
    "report_involvement",
    "reset_password",
    "revoke_api_token",
    "set_organisation_active",
    "set_user_active",
    "start_session",
    "subject_of",
    "update_organisation",
    "update_user",
    "withdraw_person_consent",
]
