"""Every state change of accounts, sessions, tokens and organisations.

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
)
from netwerk.operations.involvements import InvolvementData, expire_involvements, register_involvement

__all__ = [
    "LOGIN_REFUSED",
    "DuplicatePerson",
    "InvolvementData",
    "LoginResult",
    "OperationError",
    "OrganisationData",
    "PersonData",
    "UserData",
    "authenticate",
    "change_password",
    "check_second_factor",
    "compose_family",
    "confirm_session_second_factor",
    "create_organisation",
    "create_user",
    "disable_two_factor",
    "enable_two_factor",
    "end_session",
    "expire_involvements",
    "issue_api_token",
    "record_consent",
    "register_involvement",
    "register_person",
    "reset_password",
    "revoke_api_token",
    "set_organisation_active",
    "set_user_active",
    "start_session",
    "subject_of",
    "update_organisation",
    "update_user",
]
