"""Cursor pagination as an async iterator: ``async for job in client.jobs.list(): ...``."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Generic, TypeVar

from ..errors import ProtocolError
from ..models import Page, WireModel

ItemT = TypeVar("ItemT", bound=WireModel)

PageFetcher = Callable[[str | None], Awaitable[Page[ItemT]]]


class PageIterator(Generic[ItemT]):
    """Iterates items across pages, fetching the next page only when needed.

    ``async for item in it`` walks items; ``it.pages()`` walks whole pages;
    ``await it.to_list(n)`` collects up to ``n`` items. Nothing is fetched until then.
    """

    def __init__(self, fetch: PageFetcher[ItemT]) -> None:
        self._fetch = fetch

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self._items()

    async def _items(self) -> AsyncGenerator[ItemT, None]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def pages(self) -> AsyncIterator[Page[ItemT]]:
        """Yield each page in order until the node reports no next cursor."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self._fetch(cursor)
            yield page
            if not page.next_cursor:
                return
            if page.next_cursor in seen:  # a node bug must not loop us forever
                raise ProtocolError(f"node repeated page cursor {page.next_cursor!r}")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    async def first_page(self) -> Page[ItemT]:
        """Only the first page."""
        return await self._fetch(None)

    async def to_list(self, max_items: int | None = None) -> list[ItemT]:
        """Collect items (all, or the first ``max_items``), fetching only needed pages."""
        items: list[ItemT] = []
        if max_items is not None and max_items <= 0:
            return items
        async with aclosing(self._items()) as stream:
            async for item in stream:
                items.append(item)
                if max_items is not None and len(items) >= max_items:
                    break
        return items
