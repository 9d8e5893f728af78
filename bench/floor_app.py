"""Baseline for bench/ingest.py: the least a FastAPI ingest can do with the same SQLite settings.

One endpoint parses the same body with pydantic and inserts it as one JSON row (WAL, synchronous=FULL,
busy timeout), committing before it answers. Run: python bench/floor_app.py (reads DATABASE_URL, PORT).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

PATH = os.environ["DATABASE_URL"].split("///", 1)[1]
_local = threading.local()


def conn() -> sqlite3.Connection:
    c = getattr(_local, "c", None)
    if c is None:
        c = sqlite3.connect(PATH, timeout=30, isolation_level=None, check_same_thread=False)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=FULL")
        c.execute("PRAGMA busy_timeout=30000")
        c.execute("CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        _local.c = c
    return c


class Body(BaseModel):
    id: str
    questionnaire: str
    version: int
    facility_id: str
    answers: dict[str, Any]
    collected_at: str
    location: dict[str, Any] | None = None


app = FastAPI()


@app.post("/api/v1/responses", status_code=201)
def ingest(body: Body) -> dict[str, str]:
    c = conn()
    c.execute("BEGIN IMMEDIATE")
    c.execute("INSERT INTO floor (id, body) VALUES (?, ?)", (body.id, json.dumps(body.model_dump())))
    c.execute("COMMIT")
    return {"id": body.id}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning", access_log=False)
