"""The baseline of ``hook_ingest.py``: a hello-world FastAPI app, served like the hook service.

It takes the same POST with the same body and headers as the hook endpoint, reads the body
and answers a small JSON document: everything the framework and the server do per request,
and nothing of smbridge (no parsing, no database).

Served by ``uvicorn --factory --app-dir bench hello_app:create_app`` with the options
``smbridge serve`` uses (uvloop, httptools, no access log), one process per port.
"""

from __future__ import annotations

from fastapi import FastAPI, Request


def create_app() -> FastAPI:
    app = FastAPI(title="hello")

    async def hello(request: Request) -> dict[str, str]:
        await request.body()
        return {"status": "created", "hello": "world"}

    app.add_api_route("/hello/", hello, methods=["POST"])
    app.add_api_route("/sbermarket/orders/hook/", hello, methods=["POST"])  # behind nginx

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
