"""An emulated AWS Organization for multi-account tests.

The management account creates the organization and its member accounts; every account
gets the read-only role Lakewarden assumes, trusting the management account, with the
shipped policy `deploy/iam/lakewarden-readonly.json` inline, except the last member,
whose role has no permission at all: the account that denies access. With IAM
enforcement on (moto checks every request against the caller's policies after seeding),
the run must reach two accounts and record the third as denied.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Dict, List

ROLE_NAME = "lakewarden-readonly"


def trust_policy(management: str, reader_user: str) -> str:
    # AWS lets `:root` stand for every principal of the account that its own policies
    # allow; moto compares principals literally, so the reader is named as well.
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{management}:root",
                                  f"arn:aws:iam::{management}:user/{reader_user}"]},
            "Action": "sts:AssumeRole",
        }],
    })


def caller_policy() -> str:
    """What the job's own identity needs beyond the role it assumes."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["organizations:ListAccounts", "sts:AssumeRole",
                       "sts:GetCallerIdentity"],
            "Resource": "*",
        }],
    })


def seed_organization(make_client: Callable[..., Any], endpoint: str, management: str,
                      members: int, readonly_policy: str, reader_user: str,
                      expected_counts: Callable[[str], Dict[str, int]]) -> Dict[str, Any]:
    """Create the organization; returns what the ready file records of it."""
    org = make_client(endpoint, "organizations", management)
    org.create_organization(FeatureSet="ALL")
    accounts: List[str] = [management]
    for n in range(members):
        status = org.create_account(Email=f"member-{n}@example.invalid",
                                    AccountName=f"member-{n}")["CreateAccountStatus"]
        accounts.append(status["AccountId"])

    described: Dict[str, Any] = {}
    denied = accounts[-1] if members >= 2 else None
    for account in accounts:
        iam = make_client(endpoint, "iam", account)
        iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=trust_policy(management, reader_user))
        if account != denied:
            iam.put_role_policy(RoleName=ROLE_NAME, PolicyName=ROLE_NAME,
                                PolicyDocument=readonly_policy)
        described[account] = {
            "role_arn": f"arn:aws:iam::{account}:role/{ROLE_NAME}",
            "denied": account == denied,
        }

    make_client(endpoint, "iam", management).put_user_policy(
        UserName=reader_user, PolicyName="lakewarden-organization-reader",
        PolicyDocument=caller_policy())
    for account in accounts:
        described[account]["expected"] = expected_counts(account)
    return {"management": management, "accounts": described}


def enforce_iam() -> None:
    """From now on moto authenticates every request and authorizes it against the
    caller's IAM policies, as AWS does."""
    from moto import settings
    from moto.core import exceptions

    # moto writes its authorization errors as <ErrorResponse><Errors><Error>, a shape
    # no AWS query API uses; AWS writes <ErrorResponse><Error>, and the SDK finds the
    # error code only there. Correct the emulator's response, not the product.
    from xmltodict import unparse

    for name in ("AccessDeniedError", "InvalidClientTokenIdError",
                 "SignatureDoesNotMatchError", "AuthFailureError"):
        cls = getattr(exceptions, name)
        original = cls.__init__

        def fixed(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
            __original(self, *args, **kwargs)
            error = {"Type": "Sender", "Code": self.error_type, "Message": self.message}
            self.description = unparse({"ErrorResponse": {"Error": error,
                                                          "RequestId": "lakewarden-test"}},
                                       full_document=True)

        cls.__init__ = fixed
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
