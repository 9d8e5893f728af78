"""`khuyencong` command line: serve, deliver, schemas check, keys, import, demo-data."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from app import handlers as _handlers  # noqa: F401  every unit-of-work handler, before any command writes

app = typer.Typer(help="khuyencong-survey command line", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="API keys", no_args_is_help=True)
schemas_app = typer.Typer(help="Questionnaire and scoring-profile files", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(schemas_app, name="schemas")
app.add_typer(import_app, name="import")


def command_name(tool: str = "khuyencong") -> str:
    """How to run one of this installation's commands from here: its bare name when PATH finds this very one
    (the Docker image), else its path (`.venv/bin/khuyencong` in a checkout), so a hint runs as printed."""
    import os
    import shutil

    mine = Path(sys.executable).parent / tool
    found = shutil.which(tool)
    if found and Path(found).absolute() == mine.absolute():
        return tool
    here = Path.cwd()
    return os.path.relpath(mine.absolute(), here) if mine.absolute().is_relative_to(here) else str(mine)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@app.command()
def serve(
    host: str = typer.Option(None, help="default: HOST or 127.0.0.1"),
    port: int = typer.Option(None, help="default: PORT or 8000"),
    workers: int = typer.Option(None, help="default: WORKERS or 1"),
) -> None:
    """Serve the API with uvicorn (after `alembic upgrade head`)."""
    import uvicorn

    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.models import ApiKey

    s = get_settings()
    with session_scope() as session:
        if not session.execute(select(func.count()).select_from(ApiKey)).scalar():
            create = f"{command_name()} keys create --role admin --name admin"
            where = f"  {create}\n"
            if command_name() == "khuyencong":  # installed on PATH, as in the Docker image
                where += f"(from the host, in a container: docker exec -it <container> {create})\n"
            typer.echo(f"No API keys yet. Create the first admin key with:\n{where}", err=True)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host or s.host,
        port=port or s.port,
        workers=workers or s.workers,
        log_config=None,
        access_log=False,
        # Forwarded headers are believed only from configured proxies (the audit trail records client IPs).
        proxy_headers=bool(s.trusted_proxies),
        forwarded_allow_ips=",".join(s.trusted_proxies) or None,
        timeout_graceful_shutdown=10,
    )


@app.command()
def deliver() -> None:
    """Deliver webhooks (the outbox) until stopped: beside servers run with WEBHOOK_DELIVERY=off, or as
    many processes as wanted (on PostgreSQL each message attempt is claimed by exactly one)."""
    from app.core import logging as app_logging
    from app.core.config import get_settings
    from app.webhooks.deliverer import run_forever

    app_logging.configure(get_settings().log_level)
    typer.echo("delivering webhooks (Ctrl-C stops)", err=True)
    run_forever()


@schemas_app.command("check")
def schemas_check(
    db: bool = typer.Option(
        True, help="also compare published versions with the hashes recorded in the database"
    ),
) -> None:
    """Check every questionnaire and scoring profile; list every problem; exit non-zero on any."""
    from app.core.config import get_settings
    from app.main import load_definitions
    from app.questionnaires.definition import DefinitionError
    from app.questionnaires.registry import Registry

    s = get_settings()
    try:
        if db:
            registry, profiles = load_definitions(s)
        else:
            from app.prioritisation.profiles import Profiles

            registry = Registry.load(s.schemas_dir)
            profiles, problems = Profiles.load(s.schemas_dir, registry)
            if problems:
                raise DefinitionError(problems)
    except DefinitionError as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        typer.echo(f"{len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(code=1) from None
    except (OperationalError, ProgrammingError):
        _fail(
            f"the database has no tables yet: run {command_name('alembic')} upgrade head (make migrate), or pass --no-db"
        )
    for (key, version), d in sorted(registry.definitions.items()):
        checks = f", {len(d.checks)} checks" if d.checks else ""
        typer.echo(f"ok  {key} v{version} ({d.status}, {len(d.questions)} questions{checks})")
    for (key, version), prof in sorted(profiles.items.items()):
        typer.echo(
            f"ok  scoring/{key} v{version} ({prof.status}, {prof.method}, {len(prof.criteria)} criteria)"
        )


@keys_app.command("create")
def keys_create(
    role: str = typer.Option(..., help="admin | planner | field_officer | portal"),
    name: str = typer.Option(..., help="unique name, e.g. the device or portal"),
    province: list[str] = typer.Option(
        None, "--province", help="province code; repeat for several; none = all"
    ),
) -> None:
    """Create a key; the secret is printed once, alone on the last line."""
    from app.access import service
    from app.core.db import session_scope
    from app.core.errors import AppError

    try:
        with session_scope(write=True) as session:
            key, secret = service.create(
                session=session, principal=None, name=name, role=role, provinces=province or None
            )
    except AppError as exc:
        msgs = [e["message"] for e in (exc.errors or [])] or [exc.detail or exc.title]
        _fail("; ".join(msgs))
    scope = ",".join(key.provinces) if key.provinces else "all provinces"
    typer.echo(
        f"created key {key.name!r} role={key.role} scope={scope}; store the secret now, it is not shown again:"
    )
    typer.echo(secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    from app.access import service
    from app.core.db import session_scope

    with session_scope() as session:
        for k in service.list_keys(session=session, principal=None):
            state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
            scope = ",".join(k.provinces) if k.provinces else "all"
            used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
            typer.echo(f"{k.name}\t{k.role}\t{scope}\t{state}\tlast used {used}")


@keys_app.command("revoke")
def keys_revoke(name: str) -> None:
    """Revoke a key by name; refused on the next request everywhere."""
    from app.access import service
    from app.core.db import session_scope
    from app.core.errors import AppError

    try:
        with session_scope(write=True) as session:
            service.revoke(session=session, principal=None, name=name)
    except AppError as exc:
        _fail(exc.detail or exc.title)
    typer.echo(f"revoked {name}")


@app.command("demo-data")
def demo_data(
    facilities: int = typer.Option(1000, "--facilities", min=1, help="how many facilities"),
    seed: int = typer.Option(1, "--seed", help="same seed, same data"),
) -> None:
    """Write realistic synthetic facilities and responses (deterministic for a seed)."""
    import time

    from rich.progress import Progress

    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.demo import generate
    from app.questionnaires.registry import Registry

    registry = Registry.load(get_settings().schemas_dir)
    started = time.perf_counter()
    with Progress(transient=True) as bar, session_scope(write=True) as session:
        task = bar.add_task("facilities", total=facilities)
        counts = generate(
            session=session,
            registry=registry,
            facilities=facilities,
            seed=seed,
            progress=lambda n: bar.advance(task, n),
        )
        from app.prioritisation import projection
        from app.prioritisation.profiles import Profiles

        projection.ensure(session, Profiles.load(get_settings().schemas_dir, registry)[0])
    took = time.perf_counter() - started
    typer.echo(
        f"wrote {counts['facilities']} facilities, {counts['responses']} responses ({counts['revisions']} revisions) "
        f"in {took:.1f} s: {counts['responses'] / took:,.0f} responses/s, {counts['revisions'] / took:,.0f} revisions/s"
    )


@app.command("demo-history")
def demo_history() -> None:
    """Load the programme's own history: three point projects of 2018–2020 in the northern provinces (named as
    they were, mapped to today's 34), their 63 establishments and completion results, so the results report
    (/api/v1/results, /planner/results) shows the review's table at once. Run once; a second run does nothing."""
    import uuid

    from sqlalchemy import select

    from app.access.principal import Principal
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.facilities import service as facilities
    from app.facilities.schemas import FacilityCreate
    from app.models import PointProject
    from app.point_projects import checks, history
    from app.point_projects import service as projects
    from app.point_projects.schemas import PointProjectCreate, State
    from app.questionnaires.registry import Registry
    from app.responses import ingest

    checks.install()
    registry = Registry.load(get_settings().schemas_dir)
    office = Principal(key_id=0, name="demo-history", role="admin", provinces=None)
    officer = Principal(key_id=0, name="demo-history-officer", role="field_officer", provinces=None)
    with session_scope(write=True) as session:
        if session.execute(
            select(PointProject.id).where(PointProject.code == history.PROJECTS[0]["code"])
        ).first():  # type: ignore[arg-type]
            typer.echo("the programme history is already loaded")
            return
        ids: dict[int, str] = {}
        for i, f in enumerate(history.facilities()):
            body = FacilityCreate(**{k: v for k, v in f.items() if not k.startswith("_")})
            ids[i] = facilities.create(session=session, principal=None, data=body).id
        for b in history.project_bodies(ids):
            p = projects.create(session=session, principal=office, data=PointProjectCreate(**b))
            for state in (State.approved, State.implementing, State.completed):
                projects.change_state(
                    session=session, principal=office, project_id=p.id, state=state, comment=None
                )
    items = [{"id": str(uuid.uuid4()), "questionnaire": "project-results", "version": 1, "facility_id": r["facility_id"],
              "answers": r["answers"], "collected_at": "2021-03-01T09:00:00+07:00"} for r in history.results(ids)]  # fmt: skip
    with session_scope() as session:
        out = ingest.ingest_batch(session=session, registry=registry, principal=officer, items=items)
    bad = [r for r in out if r["status"] != "created"]
    if bad:
        _fail(f"{len(bad)} results were not stored: {bad[0]}")
    typer.echo(
        f"loaded {len(history.PROJECTS)} point projects, {len(ids)} establishments and {len(items)} results"
    )


@import_app.command("facilities")
def import_facilities(path: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV file")) -> None:
    """Import facilities from CSV (same columns and rules as POST /facilities/import), with a progress bar."""
    from collections import Counter

    from rich.progress import Progress

    from app.core.db import session_scope
    from app.core.errors import AppError
    from app.facilities import importer

    try:
        rows, _ = importer.read_csv(importer.decode(path.read_bytes()), max_rows=None)
    except AppError as exc:
        _fail("; ".join(e["message"] for e in exc.errors or []) or str(exc))
    results = []
    with Progress(transient=True) as bar:
        task = bar.add_task("rows", total=len(rows))
        for start in range(0, len(rows), importer.MAX_ROWS):  # one short write transaction per part
            with session_scope() as session:
                part = importer.import_rows(
                    session=session, principal=None, rows=rows[start : start + importer.MAX_ROWS]
                )
            results += [r.model_copy(update={"row": r.row + start}) for r in part]
            bar.advance(task, len(part))
    tally = Counter(r.status for r in results)
    for r in results:
        if r.status == "invalid":
            typer.echo(
                f"row {r.row}: " + "; ".join(f"{e['path']}: {e['message']}" for e in r.errors or []), err=True
            )
    typer.echo(f"created {tally['created']}, duplicate {tally['duplicate']}, invalid {tally['invalid']}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
