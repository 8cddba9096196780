"""Scoring routes, declared once: scope, body model and response model in one decorator.

Before the handler runs, the route admits the key (scope), takes the model snapshot, reads
the capped body, parses it with the body model and checks its row count; the handler gets
all of it as one typed ``Scoring[Body]``. FastAPI builds the OpenAPI entry from the same
models, but requests skip its dependency resolution (~40 us a call), and the handler's
result, already shaped like the response model, is written by orjson without a second
validation pass.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Concatenate, Generic, ParamSpec, TypeVar

import numpy as np
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from app.contract.scoring_request import ScoringRequest
from app.http.auth import ApiKey, Scope
from app.http.errors import REFUSALS
from app.http.json_response import FastJSONResponse
from app.http.request_body import (
    INLINE_PARSE_BYTES,
    openapi_request_body,
    parse_capped,
    read_capped,
)
from app.http.route_dependencies import check_row_count, current_model
from app.lifecycle.batching import Arrival
from app.lifecycle.served_model import Prediction, ServedModel
from app.wiring.state import AppState, state_of

BodyT = TypeVar("BodyT", bound=ScoringRequest)
P = ParamSpec("P")
R = TypeVar("R")
# A check that runs once the model is known and before the body is read (415, 404, ...).
Precondition = Callable[[Request, ServedModel], None]
# A decoder for the common well-formed body of a route, given the model it will meet:
# the parsed body, or None to send the body through the general parse.
FastDecode = Callable[[bytes, ServedModel, AppState], Any]


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 us more per request
class Scoring(Generic[BodyT]):
    """Everything a scoring handler needs, resolved and checked before it runs."""

    body: BodyT
    rows: int
    model: ServedModel
    key: ApiKey
    request: Request
    state: AppState
    arrival: Arrival | None = None

    @property
    def request_id(self) -> str | None:
        request_id: str | None = self.request.scope["state"].get("request_id")
        return request_id

    async def score(self, matrix: np.ndarray) -> Prediction:
        return await self.state.score(self.model, matrix, arrival=self.arrival)


@dataclass(frozen=True)
class _Declaration:
    scope: Scope
    body: type[ScoringRequest]
    preconditions: tuple[Precondition, ...]
    fast_decode: FastDecode | None


class _OpenApiView:
    """What FastAPI inspects to document the route: name, docstring, path parameters."""

    def __init__(self, handler: Callable[..., Any]) -> None:
        hints = typing.get_type_hints(handler)
        _scoring, *rest = inspect.signature(handler).parameters.values()
        self.__name__ = handler.__name__
        self.__doc__ = handler.__doc__
        self.__signature__ = inspect.Signature(
            [p.replace(annotation=hints.get(p.name, p.annotation)) for p in rest]
        )

    async def __call__(self, **path_params: Any) -> Any:
        # FastAPI only reads this object's signature; ScoringRoute.get_route_handler runs the
        # real handler, so reaching this means the route class was bypassed.
        raise RuntimeError(f"{self.__name__} must be served through ScoringRoute")


class ScoringRoute(APIRoute):
    declaration: ClassVar[_Declaration]
    run: Callable[[Request], Coroutine[Any, Any, Response]]

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.handler = endpoint  # read by get_route_handler, which super().__init__ calls
        super().__init__(path, _OpenApiView(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = self.handler
        scope, body_model, preconditions, fast_decode = (
            self.declaration.scope,
            self.declaration.body,
            self.declaration.preconditions,
            self.declaration.fast_decode,
        )

        async def run(request: Request) -> Response:
            state = state_of(request)

            def check_rows(rows: int) -> None:
                if rows > state.settings.max_rows:
                    check_row_count(state, rows)

            key = state.access.admit(request, scope)
            model = current_model(state)
            for precondition in preconditions:
                precondition(request, model)
            raw = await read_capped(request, state.settings.max_body_bytes)
            # From here to the model call the request is CPU work only, so a batch forming
            # on the scoring thread may wait for it; a refusal on the way releases the wait.
            arrival = state.batcher.arrival(model)
            try:
                body = (
                    fast_decode(raw, model, state)
                    if fast_decode is not None and len(raw) <= INLINE_PARSE_BYTES
                    else None
                )
                if body is None:
                    body = await parse_capped(body_model, raw, body_model.raw_row_count, check_rows)
                rows = body.row_count()
                check_row_count(state, rows)
                state.access.charge_rows(key, rows)
                scoring = Scoring(body, rows, model, key, request, state, arrival)
                return FastJSONResponse(await handler(scoring, **request.path_params))
            finally:
                arrival.close()

        self.run = run  # what ScoringDispatch calls for this route's exact path
        return run


def scoring_route(
    router: APIRouter,
    path: str,
    *,
    scope: Scope,
    body: type[BodyT],
    response: Any,
    preconditions: Sequence[Precondition] = (),
    fast_decode: Callable[[bytes, ServedModel, AppState], BodyT | None] | None = None,
) -> Callable[
    [Callable[Concatenate[Scoring[BodyT], P], Awaitable[R]]],
    Callable[Concatenate[Scoring[BodyT], P], Awaitable[R]],
]:
    """Register a POST handler taking ``Scoring[body]`` and returning ``response``'s data."""
    declaration = _Declaration(scope, body, tuple(preconditions), fast_decode)

    class DeclaredScoringRoute(ScoringRoute):
        pass

    DeclaredScoringRoute.declaration = declaration

    def register(
        handler: Callable[Concatenate[Scoring[BodyT], P], Awaitable[R]],
    ) -> Callable[Concatenate[Scoring[BodyT], P], Awaitable[R]]:
        router.add_api_route(
            path,
            handler,
            methods=["POST"],
            response_model=response,
            responses=REFUSALS,
            openapi_extra=openapi_request_body(body),
            route_class_override=DeclaredScoringRoute,
        )
        return handler

    return register


class ScoringDispatch:
    """ASGI middleware: a POST to a scoring route's exact path goes straight to its handler.

    FastAPI reaches the same handler through its exception middleware, an exit-stack
    middleware, a search of the included routers and two more exit stacks, about 25 us per
    request that scoring routes do not use: they have no dependencies, uploads or background
    tasks. Here the handler's errors are answered by the app's own exception handlers
    through Starlette's ``ExceptionMiddleware``, as on FastAPI's path, and anything without
    a handler propagates to the server-error middleware as before. Every other request, a
    route with path parameters, and any app served under a root path take FastAPI's path.
    """

    def __init__(
        self,
        app: ASGIApp,
        routers: Sequence[APIRouter],
        exception_handlers: dict[Any, Any],
    ) -> None:
        self.app = app
        self.routes = {
            route.path: route
            for router in routers
            for route in router.routes
            if isinstance(route, ScoringRoute) and not route.param_convertors
        }
        # 500 and Exception belong to the outermost middleware, as FastAPI arranges them.
        handlers = {
            key: handler
            for key, handler in exception_handlers.items()
            if key not in (500, Exception)
        }
        self.handled = ExceptionMiddleware(self._score, handlers=handlers)

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        route = (
            self.routes.get(scope["path"])
            if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path")
            else None
        )
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = route  # the access log and metrics name the route by its template
        await self.handled(scope, receive, send)

    @staticmethod
    async def _score(scope: AsgiScope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        response = await scope["route"].run(request)
        await response(scope, receive, send)
