from __future__ import annotations

import pytest

from helios.context import AppContext
from helios.core import auth
from helios.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from helios.core.tables import ApiToken


def test_token_is_stored_hashed_and_authenticates(context: AppContext) -> None:
    with context.db.transaction() as session:
        issued = auth.create_token(session, "ci", auth.Role.editor)
    assert issued.secret.startswith("hel_")
    with context.db.reading() as session:
        stored = session.query(ApiToken).one()
        assert issued.secret not in (stored.token_hash, stored.prefix)
        principal = auth.authenticate(session, issued.secret)
    assert principal.role is auth.Role.editor and principal.name == "ci"


def test_revoked_or_unknown_token_is_refused(context: AppContext) -> None:
    with context.db.transaction() as session:
        issued = auth.create_token(session, "ci", auth.Role.viewer)
        auth.revoke_token(session, "ci")
    with context.db.reading() as session, pytest.raises(Unauthorized):
        auth.authenticate(session, issued.secret)
    with context.db.reading() as session, pytest.raises(Unauthorized):
        auth.authenticate(session, "hel_nope")


def test_roles_are_ordered() -> None:
    viewer = auth.Principal("v", auth.Role.viewer)
    viewer.require(auth.Role.viewer)
    with pytest.raises(Forbidden, match="editor"):
        viewer.require(auth.Role.editor)
    with pytest.raises(InvalidInput):
        auth.Role.parse("root")


def test_duplicate_active_name_and_unknown_revoke(context: AppContext) -> None:
    with context.db.transaction() as session:
        auth.create_token(session, "ci", auth.Role.viewer)
    with context.db.transaction() as session, pytest.raises(Conflict):
        auth.create_token(session, "ci", auth.Role.admin)
    with context.db.transaction() as session, pytest.raises(NotFound):
        auth.revoke_token(session, "nobody")
