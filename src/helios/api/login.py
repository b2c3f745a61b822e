"""Sign-in for the web UI: the token is checked once and a server-side session is started; the
cookie holds only the session id (HttpOnly, SameSite=Strict, Secure over HTTPS). Signing out
ends the session on the server, so the cookie is worthless afterwards even if it was copied."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from helios.api.security import SESSION_COOKIE
from helios.core import auth
from helios.core.errors import Unauthorized

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Helios · Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{{margin:0;min-height:100vh;display:grid;place-items:center;background:#0f172a;color:#e2e8f0;
   font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif}}
 form{{background:#1e293b;padding:2rem 2.25rem;border-radius:14px;width:min(380px,90vw);
   box-shadow:0 10px 40px rgba(0,0,0,.4)}}
 h1{{margin:0 0 .25rem;font-size:1.4rem}} p{{color:#94a3b8;margin:.25rem 0 1.25rem;font-size:.9rem}}
 label{{font-size:.85rem;color:#cbd5e1}}
 input{{width:100%;box-sizing:border-box;margin:.35rem 0 1rem;padding:.65rem .75rem;border-radius:8px;
   border:1px solid #334155;background:#0f172a;color:#e2e8f0;font-family:ui-monospace,monospace}}
 button{{width:100%;padding:.7rem;border:0;border-radius:8px;background:#f59e0b;color:#111827;
   font-weight:600;cursor:pointer}}
 .error{{background:#7f1d1d;color:#fecaca;padding:.6rem .75rem;border-radius:8px;margin-bottom:1rem;
   font-size:.9rem}}
</style></head><body>
<form method="post" action="/login">
 <h1>☀ Helios</h1><p>Sign in with an API token (<code>helios tokens create NAME --role viewer</code>).</p>
 {error}
 <label for="token">API token</label>
 <input id="token" name="token" type="password" autocomplete="off" placeholder="hel_…" required autofocus>
 <input type="hidden" name="next" value="{next}">
 <button type="submit">Sign in</button>
</form></body></html>"""


def _safe_next(target: str) -> str:
    # Only same-site paths: never redirect a signed-in user to another origin.
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def render_login(next_path: str = "/", error: str = "", status_code: int = 200) -> HTMLResponse:
    block = f'<div class="error" role="alert">{html.escape(error)}</div>' if error else ""
    body = _PAGE.format(error=block, next=html.escape(_safe_next(next_path), quote=True))
    return HTMLResponse(body, status_code=status_code)


@router.get("/login")
def login_page(next: str = "/") -> HTMLResponse:
    return render_login(next)


@router.post("/login", response_model=None)
def login(
    request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> HTMLResponse | RedirectResponse:
    context = request.app.state.helios
    try:
        with context.db.transaction() as session:
            session_id = auth.start_web_session(session, token.strip())
    except Unauthorized as exc:
        return render_login(next, exc.detail, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
    )
    return response


@router.api_route("/logout", methods=["GET", "POST"])
def logout(request: Request) -> RedirectResponse:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        with request.app.state.helios.db.transaction() as session:
            auth.end_web_session(session, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
