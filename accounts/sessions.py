"""The signed-in sessions of one user (allauth.usersessions rows): list them, end one, end the
others. Each session is a browser that signed in; ending it deletes its Django session, so that
browser's next request is signed out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from allauth.usersessions.models import UserSession
from django.contrib.auth import logout
from django.db import transaction
from django.http import Http404, HttpRequest

from accounts.audit import record_audit
from accounts.models import User

# (pattern, name): the first match wins, so Edge and Opera come before the Chrome they contain,
# and Chrome before the Safari token every WebKit browser sends.
_BROWSERS = [
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"HeadlessChrome/", "Headless Chrome"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
    (r"^curl/", "curl"),
    (r"^python-", "Python"),
]
_SYSTEMS = [
    (r"iPhone|iPad|iPod", "iOS"),
    (r"Android", "Android"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux|X11", "Linux"),
]


def describe_user_agent(user_agent: str) -> str:
    """A short human name for a browser ("Firefox on Windows"); the raw string is shown too."""
    browser = next((name for pat, name in _BROWSERS if re.search(pat, user_agent)), None)
    system = next((name for pat, name in _SYSTEMS if re.search(pat, user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


@dataclass(frozen=True)
class SessionRow:
    id: int
    device: str
    user_agent: str
    ip: str
    created_at: object
    last_seen_at: object
    is_current: bool


def list_sessions(user: User, current_session_key: str | None) -> list[SessionRow]:
    """The user's live sessions, this one first, then the most recently seen.

    Rows of sessions that expired or were signed out elsewhere are purged on the way (allauth's
    purge_and_list), so the list never shows a browser that is no longer signed in.
    """
    rows = [
        SessionRow(
            id=s.pk,
            device=describe_user_agent(s.user_agent),
            user_agent=s.user_agent,
            ip=s.ip,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            is_current=s.session_key == current_session_key,
        )
        for s in UserSession.objects.purge_and_list(user)
    ]
    return sorted(rows, key=lambda r: (not r.is_current, -r.last_seen_at.timestamp()))


def get_session_of(user: User, session_id: int) -> UserSession:
    """One of the user's sessions; another user's (or a missing) session is a 404."""
    session = UserSession.objects.filter(pk=session_id, user_id=user.pk).first()
    if session is None:
        raise Http404("No such session.")
    return session


def end_session(request: HttpRequest, session: UserSession) -> bool:
    """Sign one session out; returns whether it was the requesting browser's own (then the
    request is signed out as well)."""
    is_current = session.session_key == request.session.session_key
    with transaction.atomic():
        session.end()
        record_audit(
            "user.session_ended", organization=None, request=request, target=request.user.email,
            ip=session.ip, device=describe_user_agent(session.user_agent),
        )
    if is_current:
        logout(request)
    return is_current


def end_other_sessions(request: HttpRequest) -> int:
    """Sign out every session of the user but this one; returns how many were ended."""
    others = UserSession.objects.filter(user_id=request.user.pk).exclude(
        session_key=request.session.session_key
    )
    ended = 0
    with transaction.atomic():
        for session in others:
            session.end()
            ended += 1
        if ended:
            record_audit(
                "user.other_sessions_ended", organization=None, request=request,
                target=request.user.email, count=ended,
            )
    return ended
