"""The Cunxin account behind a piccolo-admin login: admin forms act as that account, through the
same services (and the same scope rules) as the API."""

from __future__ import annotations


async def admin_actor(request):
    """The logged-in admin's own account as an ``Actor`` (the piccolo-admin login carries its username)."""
    from backend.auth.services import account_actor
    from backend.auth.tables import Account
    from backend.errors import PermissionDenied

    username = request.user.user.username
    row = await Account.select(Account.id).where(Account.username == username).first()
    actor = await account_actor(row["id"]) if row else None
    if actor is None:
        raise PermissionDenied("该后台账号没有对应的县（区）管理员账户", "No county admin account for this login")
    return actor
