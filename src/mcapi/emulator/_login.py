"""Discovery and login (new binding or refresh); logout is a function (``functions/login.py``).

Login's order of checks (the emulator's reading of RESPONSE-CODES.md):

1. an Authorization header -> 400 0001, and ``x-mc-app-id`` -> 400 err_developer_key (x-mc-date
   and x-mc-req-id are not required: the platform exempts login and discovery from the signing
   headers, and integrations omit them); the application id must be registered -> 400
   err_developer_key;
2. ``Basic-Cloud`` / ``Basic-AD`` with a user and a password -> 401 0001 (credentials incomplete);
3. the user's domain is managed -> 404 0003;
4. the address is locked -> 401 0010 (checked before the password: a locked account tells nothing
   about the password and does not count the attempt);
5. the password is right -> 401 0003 otherwise, counted atomically towards the lockout: the
   attempt that reaches the threshold answers 401 0003 and locks; attempts counted after it answer
   401 0010;
6. the auth type is allowed for the user -> 401 0001 (auth type not supported), only once the
   password is right, so that the answer says nothing about an address it does not know;
7. the user is enabled -> 401 0011; the password has not expired -> 403 0009; the caller's address
   is permitted -> 403 0016;
8. with ``accessKey`` in the item: refresh that binding (401 0008 when it is revoked, unknown or
   another user's); else a new binding (403 0012 past the user's limit).

Unknown users and wrong passwords are indistinguishable from outside: an unknown address costs
the same KDF work (a decoy hash), answers the same 401 0003, and is counted towards a lockout too
(in the database, so every process of a shared deployment agrees), locking after the same number
of failures.
Discovery answers every address of a managed domain alike; it needs ``x-mc-app-id`` and no
Authorization. Neither call checks ``x-mc-date`` or replays of ``x-mc-req-id``: they are not
signed, and the password (or nothing, for discovery) is what they rest on.
"""

from __future__ import annotations

from typing import Any

from mcapi._signing import LoginHeaderError, parse_login_header
from mcapi.emulator._pipeline._access import ip_permitted
from mcapi.emulator._pipeline._call import Call, Verdict, refuse
from mcapi.emulator._pipeline._credentials import check_app_id
from mcapi.emulator._store import Account, BindingLimitReached, RowNotFound, User
from mcapi.emulator.functions._registry import FunctionResult


def _first_item(call: Call) -> dict[str, Any]:
    assert call.request is not None
    return dict(call.request.data[0]) if call.request.data else {}


def _domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def discover(call: Call) -> Verdict | FunctionResult:
    verdict = check_app_id(call)
    if verdict is not None:
        return verdict
    email = str(_first_item(call).get("emailAddress") or "").strip()
    if "@" not in email:  # not recorded: it may be a password typed in the wrong field
        return refuse("discover", "emailAddress is missing or not an address", 400, None,
                      "err_request_malformed")  # fmt: skip
    call.login_user = email
    store = call.state.store
    domain = store.find_domain(_domain_of(email))
    if domain is None:
        return refuse("discover", f"domain {_domain_of(email)} is not managed", 404, "0003")
    account = store.get_account(domain.account_id)
    assert account is not None
    # Every address of a managed domain gets the same answer, so discovery does not reveal who
    # exists (the emulator's choice; login then says 401 0001 for a type the user may not use).
    methods = ["cloud", "domain"]
    base_url = call.state.config.public_base_url or _own_base_url(call)
    data = {
        "emailAddress": email,
        "emailToken": "",
        "region": {"api": base_url, "code": account.region},
        "authenticate": methods,
    }
    return FunctionResult(data=[data])


def _own_base_url(call: Call) -> str:
    host = call.headers.get("host", "127.0.0.1")
    scheme = call.headers.get("x-forwarded-proto", "http")
    return f"{scheme}://{host}"


def login(call: Call) -> Verdict | FunctionResult:
    header = call.headers.get("authorization", "").strip()
    if not header:
        return refuse("credentials", "no Authorization header", 400, "0001")
    verdict = check_app_id(call)
    if verdict is not None:
        return verdict
    store = call.state.store
    application = store.get_application(call.headers["x-mc-app-id"].strip())
    if application is None:
        return refuse("application", "x-mc-app-id is not a registered application", 400, None,
                      "err_developer_key")  # fmt: skip
    try:
        credentials = parse_login_header(header)
    except LoginHeaderError as exc:
        return refuse("credentials", str(exc), 401, "0001", "err_xdk_credentials_incomplete")
    domain = None
    if "@" in credentials.username:
        domain = store.find_domain(_domain_of(credentials.username))
    if domain is None:
        # Not an address of a managed domain: perhaps a password typed into the user-name field,
        # so neither the name nor its "domain" reaches the journal.
        reason = (
            "the user name is not an address of a managed domain (not recorded: it may be a "
            "password typed in the wrong field)"
        )
        return refuse("domain", reason, 404, "0003")
    call.login_user = credentials.username
    account = store.get_account(domain.account_id)
    assert account is not None
    user = store.find_user(credentials.username)
    if user is not None and user.account_id != domain.account_id:
        user = None  # an address of another account's domain: as unknown as any
    locked = (
        user.locked(call.now)
        if user is not None
        else store.address_locked(credentials.username, call.now)
    )
    if locked:
        return refuse("lockout", f"{credentials.username} is locked", 401, "0010")
    if not store.check_password(user, credentials.password):  # unknown users cost the same
        return _wrong_password(call, user, account, credentials.username)
    assert user is not None
    if credentials.auth_type not in user.auth_types:
        return refuse("auth-type", f"{credentials.scheme} is not allowed for {user.email}",
                      401, "0001", "err_xdk_auth_type_not_supported")  # fmt: skip
    return _after_password(call, user, application.app_id)


def _wrong_password(call: Call, user: User | None, account: Account, address: str) -> Verdict:
    """Count the failure towards the lockout, for unknown addresses too, so that the answers never
    tell an unknown user from a wrong password."""
    threshold = account.lockout_threshold
    if user is None:
        failed, locked_until = call.state.store.record_address_failure(
            address, now=call.now, threshold=threshold, lock_seconds=account.lockout_seconds
        )
    else:
        failed, locked_until = call.state.store.record_failed_login(
            user.id, now=call.now, threshold=threshold, lock_seconds=account.lockout_seconds
        )
    if threshold and failed > threshold and locked_until is not None:
        return refuse("lockout", f"{address} is locked ({failed} failures)", 401, "0010")
    suffix = (
        f"; account locked after {failed} failures" if threshold and failed >= threshold else ""
    )
    who = "unknown user" if user is None else "wrong password"
    reason = f"{who} ({failed} of {threshold or 'unlimited'} failures){suffix}"
    return refuse("password", reason, 401, "0003")


def _after_password(call: Call, user: User, app_id: str) -> Verdict | FunctionResult:
    store = call.state.store
    if user.disabled:
        return refuse("user", f"user {user.email} is disabled", 401, "0011")
    if user.password_expired(call.now):
        return refuse("password-expiry", f"the password of {user.email} has expired", 403, "0009")
    account = store.get_account(user.account_id)
    assert account is not None
    if not ip_permitted(call.client_ip, user.effective_ip_ranges(account)):
        return refuse("ip", f"client address {call.client_ip} is outside the permitted ranges",
                      403, "0016")  # fmt: skip
    store.clear_failed_logins(user.id)
    ttl = account.binding_ttl_seconds
    expired_key = _first_item(call).get("accessKey")
    if expired_key:
        try:
            binding = store.refresh_binding(
                str(expired_key), now=call.now, ttl_seconds=ttl, user_id=user.id
            )
        except RowNotFound:
            return refuse("refresh", "the access key to refresh is revoked, unknown or another "
                          "user's", 401, "0008")  # fmt: skip
    else:
        try:
            binding = store.create_binding(user.id, app_id, now=call.now, ttl_seconds=ttl)
        except BindingLimitReached:
            return refuse("binding-limit", f"{user.email} holds {account.max_bindings_per_user} "
                          "bindings already", 403, "0012")  # fmt: skip
    return FunctionResult(
        data=[
            {
                "accessKey": binding.access_key,
                "secretKey": binding.secret_key,
                "duration": 0 if ttl is None else int(ttl * 1000),
                "userName": user.email,
                "bindingType": "one_step",
                "extendOnValidate": False,
            }
        ]
    )
