"""App Home: rebuilt from indexes whenever a person opens it."""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.runtime import Greenlight
from bot.views.home import home_view
from workflows.models import Post, PostState
from workflows.store import Store


def publish_home(gl: Greenlight, team: str, user: str, client: WebClient) -> None:
    engine = gl.engine(team, client)
    store = engine.store
    now = gl.clock()
    mine = [p for p in store.get_many(store.ids_by_author(user, limit=20)) if not p.finished]
    scheduled = going_out_next(store, now, limit=10)
    view = home_view(
        queue=engine.queue_for(user, limit=20),
        mine=mine,
        scheduled=scheduled,
        freeze=store.freeze_state(),
        now=now,
    )
    client.views_publish(user_id=user, view=view)


def going_out_next(store: Store, now: datetime, limit: int) -> list[Post]:
    """Approved posts by the time they go out, a year ahead (App Home, `/greenlight
    scheduled`)."""
    due = store.get_many(store.ids_due(now + timedelta(days=366), limit=limit))
    return [p for p in due if p.state in (PostState.APPROVED, PostState.SCHEDULED)]
